"""The audit trail in words: what each action code means to a chair (for translation).

Every code an `audit.record` call writes anywhere in app/ has its words here;
tests/unit/test_audit_wording.py reads the source for the codes, so a new one without words
fails. The raw record stays one fold-out away on the page.
"""

from __future__ import annotations

from app.web.i18n import N_

ACTION_LABELS = {
    # accounts
    "accounts.register_user": N_("注册了账号"),
    "accounts.log_in": N_("登录"),
    "accounts.log_out": N_("退出登录"),
    "accounts.set_preferences": N_("修改了显示设置"),
    "accounts.change_password": N_("修改了密码"),
    "accounts.create_admin": N_("创建了平台管理员账号"),
    # halls
    "halls.create_street": N_("创建了街道"),
    "halls.create_property_company": N_("登记了物业公司"),
    "halls.set_property_company": N_("设置了本社区的物业公司"),
    "halls.create_hall": N_("创建了议事厅"),
    "halls.add_street_admin": N_("设置了街道管理员"),
    "halls.rotate_invite": N_("更换了邀请链接"),
    "halls.join_hall": N_("申请加入议事厅"),
    "halls.verify_member": N_("审核通过了成员申请"),
    "halls.reject_member": N_("退回了成员申请"),
    "halls.add_member_on_behalf": N_("代居民录入了账号"),
    "halls.import_roster": N_("导入了住户名册"),
    "halls.update_hall_settings": N_("修改了议事规则"),
    "halls.set_member_roles": N_("调整了成员身份"),
    "halls.appoint_chair": N_("任命了主持人"),
    # issues
    "issues.propose_issue": N_("提出了议题"),
    "issues.enter_issue_on_behalf": N_("代居民录入了议题"),
    "issues.cosign_issue": N_("附议了议题"),
    "issues.withdraw_cosign": N_("撤回了附议"),
    "issues.advance_issue_stage": N_("议题进入下一阶段"),
    "issues.merge_issue": N_("合并了重复的议题"),
    "issues.add_comment": N_("发表了意见"),
    "issues.edit_comment": N_("修改了自己的意见"),
    "issues.report_comment": N_("举报了一条意见"),
    "issues.hide_comment": N_("隐藏了一条意见"),
    "issues.restore_comment": N_("恢复显示了一条意见"),
    "issues.add_solution": N_("提出了方案"),
    # voting
    "voting.create_ballot": N_("起草了表决"),
    "voting.open_ballot": N_("开始投票（冻结投票人名单）"),
    "voting.record_in_person": N_("记录了现场表决"),
    "voting.record_attendance": N_("登记了到场情况"),
    "voting.void_vote": N_("作废了一张选票"),
    "voting.issue_paper_ballots": N_("生成了纸质票"),
    "voting.enter_paper": N_("录入了纸质票"),
    "voting.confirm_paper": N_("确认了纸质票录入"),
    "voting.remind_voters": N_("提醒尚未投票的投票人"),
    "voting.close_ballot": N_("截止投票并计票"),
    "voting.record_consensus": N_("记录了协商一致的结果"),
    "voting.conclude_round": N_("本轮民决结束，未处理的失败表决一并归档"),
    "voting.file_objection": N_("对公示提出了异议"),
    "voting.answer_objection": N_("答复了异议"),
    # meetings
    "meetings.schedule_meeting": N_("安排了会议"),
    "meetings.reschedule_meeting": N_("会议改期"),
    "meetings.cancel_meeting": N_("取消了会议"),
    "meetings.sign_in_self": N_("会议签到"),
    "meetings.sign_in_by_chair": N_("代为会议签到"),
    "meetings.start_meeting": N_("宣布开会"),
    "meetings.end_meeting": N_("宣布散会"),
    "meetings.set_current_item": N_("切换了当前议程"),
    "meetings.raise_hand": N_("举手申请发言"),
    "meetings.add_speaker": N_("加入了发言名单"),
    "meetings.move_speaker": N_("调整了发言顺序"),
    "meetings.give_floor": N_("请人发言"),
    "meetings.lower_hand": N_("放下了举手"),
    "meetings.withdraw": N_("从发言名单中移除了一人"),
    "meetings.record_speech": N_("记录了发言"),
    "meetings.edit_speech": N_("修改了发言记录"),
    "meetings.record_absence": N_("登记了缺席原因"),
    "meetings.edit_minutes": N_("编辑了会议纪要"),
    "meetings.sign_minutes": N_("签署了会议纪要"),
    "meetings.append_correction": N_("为会议纪要补充了更正"),
    # tasks
    "tasks.add_task": N_("分派了任务"),
    "tasks.edit_task": N_("修改了任务"),
    "tasks.report_progress": N_("报告了任务进展"),
    "tasks.claim_task": N_("认领了志愿任务"),
    "tasks.withdraw_claim": N_("退出了认领"),
    "tasks.notify_overdue": N_("提醒任务已逾期"),
    # escalations
    "escalations.create_department": N_("设立了部门"),
    "escalations.rename_department": N_("修改了部门名称"),
    "escalations.add_department_member": N_("添加了部门成员"),
    "escalations.remove_department_member": N_("移除了部门成员"),
    "escalations.set_deadline": N_("设置了吹哨的办理时限"),
    "escalations.raise_escalation": N_("吹哨"),
    "escalations.withdraw_escalation": N_("撤回了吹哨"),
    "escalations.dispatch": N_("把吹哨派给了部门"),
    "escalations.acknowledge": N_("部门报到"),
    "escalations.reply": N_("部门答复"),
    "escalations.ask_help": N_("请其他部门协办"),
    "escalations.resolve": N_("部门办结"),
    # evaluations
    "evaluations.open_round": N_("开启了民评"),
    "evaluations.answer": N_("提交了民评"),
    "evaluations.change_answer": N_("修改了民评"),
    "evaluations.enter_paper": N_("录入了纸质民评表"),
    "evaluations.close_round": N_("结束了民评"),
    # rates, jobs
    "rates.update_rate_settings": N_("修改了三率的权重"),
    "jobs.run_job": N_("系统定时任务"),
}

# What the event's subject is, said before its name: “议题《…》”.
SUBJECT_LABELS = {
    "issue": N_("议题"),
    "ballot": N_("表决"),
    "meeting": N_("会议"),
    "task": N_("任务"),
    "membership": N_("成员"),
    "comment": N_("意见"),
    "solution": N_("方案"),
    "objection": N_("异议"),
    "escalation": N_("吹哨"),
    "evaluation_round": N_("民评"),
}
