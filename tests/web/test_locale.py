"""Switching between 简体中文 and English: a cookie before login, the account after."""

from __future__ import annotations

from app.accounts.models import User
from app.db import Database
from app.web.i18n import translations
from tests.factories import PASSWORD, join_pending, make_hall, make_member


def en(msgid: str) -> str:
    """The English of a msgid (Jinja inserts template translations as Markup, unescaped)."""
    text = translations("en").gettext(msgid)
    assert text != msgid, f"no English for {msgid!r}"
    return text


def switch(client, locale: str, source: str = "/"):
    response = client.post_form(
        "/prefs/locale", {"locale": locale}, token_from=source, follow_redirects=False
    )
    assert response.status_code == 303, response.text[:500]
    return response


def assert_chinese(page, *msgids: str) -> None:
    assert page.status_code == 200, page.text[:500]
    assert '<html lang="zh-CN"' in page.text
    for msgid in ("个人信息保护说明", *msgids):  # the footer link is on every page
        assert msgid in page.text
        assert en(msgid) not in page.text


def assert_english(page, *msgids: str) -> None:
    assert page.status_code == 200, page.text[:500]
    assert '<html lang="en"' in page.text
    for msgid in ("个人信息保护说明", *msgids):
        assert en(msgid) in page.text
        assert msgid not in page.text


def test_visitor_switches_to_english_and_back(client) -> None:
    assert_chinese(client.get("/"), "登录")

    response = switch(client, "en")
    assert response.headers["location"] == "/"
    assert client.cookies.get("lang") == "en"

    home = client.get("/")
    assert_english(home, "登录", "注册账号", "社区的事，大家商量着办")
    assert f"<title>{en('首页')} · {en('议事厅')}</title>" in home.text
    assert "简体中文" in home.text  # the way back is labelled in its own language

    login = client.get("/login")
    assert_english(
        login,
        "登录",
        "手机号",
        "忘记密码请联系居委会重置；居委会和街道的工作人员请联系系统管理员。",
    )
    assert f"<title>{en('登录')} · {en('议事厅')}</title>" in login.text

    switch(client, "zh_CN", source="/login")
    assert client.cookies.get("lang") == "zh_CN"
    assert_chinese(client.get("/"), "登录", "社区的事，大家商量着办")
    assert_chinese(
        client.get("/login"),
        "登录",
        "手机号",
        "忘记密码请联系居委会重置；居委会和街道的工作人员请联系系统管理员。",
    )


def test_unknown_locale_is_rejected_in_chinese(client) -> None:
    response = client.post_form("/prefs/locale", {"locale": "xx"}, follow_redirects=False)
    assert response.status_code == 422
    assert '<html lang="zh-CN"' in response.text
    assert "请检查填写的内容" in response.text
    assert "lang" not in client.cookies
    assert_chinese(client.get("/"), "登录")


def test_signed_in_choice_is_remembered_on_the_account(db: Database, make_client) -> None:
    world = make_hall(db)
    user, _ = make_member(db, world)
    join_pending(db, make_hall(db), user)  # two halls: the home page lists them

    first = make_client()
    first.login(user.phone, PASSWORD)
    switch(first, "en")
    with db.session(read_only=True) as session:
        assert session.get(User, user.id).locale == "en"
    home = first.get("/")
    assert_english(home, "我的议事厅", "退出")
    assert world.hall.name in home.text
    assert f'<span class="badge">{en("居民")}</span>' in home.text  # an N_ label

    # Another browser: Chinese until login, then the account's English.
    second = make_client()
    assert_chinese(second.get("/login"), "登录")
    second.login(user.phone, PASSWORD)
    assert "lang" not in second.cookies
    assert_english(second.get("/"), "我的议事厅")
    assert_english(second.get(f"/halls/{world.hall.id}"), "本厅议事规则", "社区概况")

    switch(second, "zh_CN")
    with db.session(read_only=True) as session:
        assert session.get(User, user.id).locale == "zh_CN"
    assert_chinese(second.get("/"), "我的议事厅")
