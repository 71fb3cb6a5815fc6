"""The demo community: one 街道, two 社区 halls, ~720 households in 10 buildings, every role.

Everything is created through the same services the app uses, so the demo also fills the
audit trail. Names are made up but Beijing-typical.
"""

from __future__ import annotations

import random

from sqlmodel import Session, col, select

from app.accounts import schemas as account_schemas
from app.accounts import service as accounts
from app.accounts.models import User
from app.halls import queries, roster, schemas, service
from app.halls.models import Hall, Household, Relation, Role
from app.halls.policies import HallAccess

DEMO_PASSWORD = "yishiting2026"  # noqa: S105 - printed for the demo only, never in production

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = [
    "秀英",
    "桂英",
    "秀兰",
    "玉兰",
    "桂兰",
    "淑珍",
    "凤英",
    "建国",
    "建华",
    "国强",
    "志强",
    "秀珍",
    "玉梅",
    "德明",
    "卫东",
    "红梅",
    "丽华",
    "海燕",
    "建军",
    "永刚",
    "文华",
    "晓东",
    "静",
    "伟",
    "磊",
    "娜",
    "敏",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "涛",
    "明",
    "超",
    "霞",
    "平",
    "刚",
    "桂芳",
    "振华",
    "淑英",
    "宝山",
    "长海",
    "金凤",
    "春生",
    "子涵",
]

# (phone, name, hall index, roles, label) of the people who can log in.
PEOPLE: list[tuple[str, str, int, tuple[Role, ...], str]] = [
    ("13800000001", "王秀英", 0, (Role.CHAIR,), "青年湖社区 居委会主任（主持人）"),
    ("13800000002", "李明", 0, (Role.RECORDER, Role.COUNCIL), "青年湖社区 记录员"),
    ("13800000003", "刘德明", 0, (Role.RESIDENT_REP, Role.COUNCIL), "居民代表、议事会成员"),
    ("13800000004", "陈桂兰", 0, (), "居民（业主）"),
    ("13800000005", "赵振华", 0, (Role.PROPERTY_REP,), "物业代表"),
    ("13800000006", "孙建国", 0, (Role.OWNERS_COMMITTEE_REP, Role.COUNCIL), "业委会代表"),
    ("13800000007", "周文华", 0, (Role.UNIT_REP,), "驻区单位代表"),
    ("13800000008", "吴卫东", 0, (Role.DEPARTMENT_REP,), "街道城管科（部门代表）"),
    ("13800000009", "郑淑珍", 0, (Role.OBSERVER,), "区人大代表（列席）"),
    ("13800000010", "黄海燕", 1, (Role.CHAIR,), "民旺社区 党委书记（主持人）"),
    ("13800000011", "马长海", 1, (), "民旺社区 居民（租户）"),
]
STREET_ADMIN = ("13800000020", "张宝山", "和平里街道办事处（街道管理员）")
PENDING = [("13800000030", "杨玉梅"), ("13800000031", "许春生"), ("13800000032", "韩子涵")]
DEMO_LOGINS: list[tuple[str, str, str]] = [
    *((phone, name, label) for phone, name, _, _, label in PEOPLE),
    STREET_ADMIN,
    *((phone, name, "青年湖社区 待审核居民") for phone, name in PENDING),
]


def is_empty(session: Session) -> bool:
    return session.exec(select(Hall.id).limit(1)).first() is None


def _roster_table(
    rng: random.Random, buildings: range, entrances: int, named_share: float
) -> list[list[str]]:
    """A 楼栋/单元/房号 roster: 6 floors, 3 flats a floor, areas 45–120 m² to the hundredth."""
    table = [list(roster.COLUMNS)]
    used_phones: set[str] = set()
    for b in buildings:
        for e in range(1, entrances + 1):
            for floor in range(1, 7):
                for flat in range(1, 4):
                    area = rng.randint(4500, 12000)
                    row = [
                        f"{b}号楼",
                        f"{e}单元",
                        f"{floor}0{flat}",
                        f"{area // 100}.{area % 100:02d}",
                        "",
                        "",
                        "",
                    ]
                    if rng.random() < named_share:
                        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
                        phone = ""
                        if rng.random() < 0.7:
                            while not phone or phone in used_phones:
                                phone = f"139{rng.randint(10000000, 99999999)}"
                            used_phones.add(phone)
                        relation = rng.choices(["业主", "租户", "家庭成员"], weights=[75, 15, 10])[
                            0
                        ]
                        row[4:] = [name, phone, relation]
                    table.append(row)
    return table


def seed(session: Session) -> None:
    rng = random.Random(2019)  # noqa: S311 - reproducible demo data, not a secret; 2019: the year Beijing began 街乡吹哨、部门报到 city-wide
    admin, _ = accounts.create_admin(session=session, phone="13800000099", name="平台管理员")
    street = service.create_street(
        session=session, district="东城区", name="和平里街道", actor_id=admin.id
    )
    halls = [
        service.create_hall(
            session=session,
            street=street,
            name="青年湖社区议事厅",
            address="东城区和平里青年湖北街3号院",
            actor_id=admin.id,
        ),
        service.create_hall(
            session=session,
            street=street,
            name="民旺社区议事厅",
            address="东城区和平里民旺胡同甲12号",
            actor_id=admin.id,
        ),
    ]
    # Hall A: 6 buildings × 4 entrances × 18 flats = 432; hall B: 4 × 4 × 18 = 288. 720 in all.
    layouts = [(range(1, 7), 4), (range(1, 5), 4)]
    for hall, (buildings, entrances) in zip(halls, layouts, strict=True):
        access = HallAccess(user_id=admin.id, hall_id=hall.id or 0, is_platform_admin=True)
        parsed = roster.parse_rows(_roster_table(rng, buildings, entrances, named_share=0.55))
        service.import_roster(session=session, access=access, actor=admin, roster=parsed)

    def register(phone: str, name: str) -> User:
        form = account_schemas.RegisterForm(
            phone=phone, name=name, password=DEMO_PASSWORD, consent=True
        )
        return accounts.register_user(session=session, form=form).user

    households = {
        hall.id: session.exec(
            select(Household).where(Household.hall_id == hall.id).order_by(col(Household.id))
        ).all()
        for hall in halls
    }
    chairs: dict[int, tuple[User, HallAccess]] = {}
    for index, (phone, name, hall_index, roles, _label) in enumerate(PEOPLE):
        hall = halls[hall_index]
        user = register(phone, name)
        if Role.CHAIR in roles:
            access = HallAccess(user_id=admin.id, hall_id=hall.id or 0, is_platform_admin=True)
            service.appoint_chair(
                session=session, access=access, actor_id=admin.id, hall=hall, user=user
            )
            chair_access = HallAccess(
                user_id=user.id, hall_id=hall.id or 0, is_platform_admin=False
            )
            chairs[hall.id or 0] = (user, chair_access)
            continue
        chair, _ = chairs[hall.id or 0]
        relation = Relation.TENANT if "租户" in _label else Relation.OWNER
        form = schemas.JoinForm(household_id=households[hall.id][index * 7].id, relation=relation)
        membership = service.join_hall(
            session=session, user=user, token=hall.invite_token, form=form
        )
        chair_access = _chair_access(session, chair, hall)
        service.verify_member(
            session=session, access=chair_access, actor=chair, membership_id=membership.id or 0
        )
        if roles:
            service.set_member_roles(
                session=session,
                access=chair_access,
                actor=chair,
                membership_id=membership.id or 0,
                form=schemas.RolesForm(roles=list(roles)),
            )
    official = register(STREET_ADMIN[0], STREET_ADMIN[1])
    service.add_street_admin(session=session, street=street, user=official, actor_id=admin.id)
    for offset, (phone, name) in enumerate(PENDING):
        user = register(phone, name)
        form = schemas.JoinForm(
            household_id=households[halls[0].id][100 + offset * 11].id, relation=Relation.OWNER
        )
        service.join_hall(session=session, user=user, token=halls[0].invite_token, form=form)


def _chair_access(session: Session, chair: User, hall: Hall) -> HallAccess:
    return queries.hall_access(session, user=chair, hall=hall)
