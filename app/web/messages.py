"""Human messages for the stable error codes services raise. Marked with N_ for extraction."""

from __future__ import annotations

from app.web.i18n import N_, gettext

MESSAGES: dict[str, str] = {
    "required": N_("此项必填"),
    "too_long": N_("内容太长"),
    "phone_invalid": N_("请输入11位大陆手机号，如 13812345678"),
    "phone_taken": N_("该手机号已注册，请直接登录"),
    "password_too_short": N_("密码至少8位"),
    "password_too_long": N_("密码最多128位"),
    "password_too_common": N_("这个密码太常见，容易被猜到，请换一个"),
    "password_wrong": N_("当前密码不正确"),
    "consent_required": N_("请阅读并同意个人信息保护说明"),
    "login_failed": N_("手机号或密码不正确"),
    "too_many_attempts": N_("尝试次数过多，请{minutes}分钟后再试"),
    "invite_invalid": N_("邀请链接无效或已过期，请向居委会索取新的链接"),
    "household_unknown": N_("请选择本社区的房屋"),
    "already_member": N_("您已经申请或加入了这个议事厅"),
    "person_already_member": N_("这位居民已经是本议事厅的成员"),
    "already_decided": N_("这条申请已经处理过了"),
    "member_unknown": N_("没有找到这位成员"),
    "member_not_verified": N_("这位成员还未通过审核"),
    "cannot_drop_own_chair": N_("不能取消自己的主持人身份"),
    "integer_required": N_("请输入整数"),
    "out_of_range": N_("数值超出允许范围"),
    "fraction_above_one": N_("分子不能大于分母"),
    "roster_has_errors": N_("名册有错误，未导入任何数据，请修改后重新上传"),
    "file_unreadable": N_("无法读取文件，请上传 CSV 或 XLSX 格式的名册"),
    "file_required": N_("请选择要上传的文件"),
    "file_too_large": N_("文件太大"),
    "roster_empty": N_("名册是空的"),
    "roster_too_large": N_("名册行数超过上限"),
    "column_missing": N_("缺少这一列"),
    "area_invalid": N_("面积应为正数，最多两位小数，如 89.50"),
    "relation_invalid": N_("身份应为 业主、租户 或 家庭成员"),
    "duplicate_room": N_("与第{value}行房屋重复"),
    "duplicate_phone": N_("与第{value}行电话重复"),
    "no_password": N_("该账号尚未设置密码，请联系居委会"),
    "not_allowed": N_("您没有权限进行这个操作"),
    "not_found": N_("页面不存在"),
    "not_logged_in": N_("请先登录"),
    "csrf_failed": N_("页面已过期或来源不明，请刷新后重试"),
    "locale_unknown": N_("不支持的语言"),
    "validation_failed": N_("请检查填写的内容"),
    "password_change_required": N_("请先修改一次性密码"),
    "concurrent_change": N_("刚才有人同时修改了同一条记录，请刷新页面后再试"),
}


def message(code: str, **params: object) -> str:
    text = gettext(MESSAGES.get(code, MESSAGES["validation_failed"]))
    try:
        return text.format(**params) if params else text
    except (KeyError, IndexError):
        return text
