"""The demo community: one 街道, two 社区 halls, ~720 households in 10 buildings, every role.

Everything is created through the same services the app uses, so the demo also fills the
audit trail. Names are made up but Beijing-typical.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from app.accounts import schemas as account_schemas
from app.accounts import service as accounts
from app.accounts.models import User
from app.halls import queries, roster, schemas, service
from app.halls.models import (
    Building,
    Entrance,
    Hall,
    Household,
    Membership,
    MembershipStatus,
    Relation,
    Role,
    Street,
)
from app.halls.policies import HallAccess

if TYPE_CHECKING:
    from app.issues.models import Category
    from app.issues.schemas import CloseForm, OnBehalfIssueForm, SolutionForm

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
    ("13800000008", "吴卫东", 0, (Role.DEPARTMENT_REP,), "街道城管科（部门代表、部门待办）"),
    ("13800000009", "郑淑珍", 0, (Role.OBSERVER,), "区人大代表（列席）"),
    ("13800000010", "黄海燕", 1, (Role.CHAIR,), "民旺社区 党委书记（主持人）"),
    ("13800000011", "马长海", 1, (), "民旺社区 居民（租户）"),
]
STREET_ADMIN = ("13800000020", "张宝山", "和平里街道办事处（街道管理员）")
PENDING = [("13800000030", "杨玉梅"), ("13800000031", "许春生"), ("13800000032", "韩子涵")]
# Owners in 3号楼1单元 who vote on their phones (the rest of the entrance votes on paper).
ELEVATOR_OWNERS = [("13800000040", "邓淑英"), ("13800000041", "曹长海"), ("13800000042", "彭金凤")]
DEMO_LOGINS: list[tuple[str, str, str]] = [
    *((phone, name, label) for phone, name, _, _, label in PEOPLE),
    STREET_ADMIN,
    *((phone, name, "青年湖社区 待审核居民") for phone, name in PENDING),
    *(
        (phone, name, "青年湖社区 3号楼1单元业主（加装电梯表决）")
        for phone, name in ELEVATOR_OWNERS
    ),
    ("13800000021", "钱永刚", "街道市政所（部门待办）"),
    ("13800000022", "何丽华", "街道房管所（部门待办）"),
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
    _seed_issues(session, halls[0], chairs[halls[0].id or 0][0])
    _seed_votes(session, halls[0], chairs[halls[0].id or 0][0], register)
    _seed_outcomes(session, halls[0], chairs[halls[0].id or 0][0])
    _seed_meetings(session, halls[0], chairs[halls[0].id or 0][0])
    _seed_implementation(session, street, halls, chairs[halls[0].id or 0][0], official, register)


def _chair_access(session: Session, chair: User, hall: Hall) -> HallAccess:
    return queries.hall_access(session, user=chair, hall=hall)


def _access(session: Session, user: User, hall: Hall) -> HallAccess:
    return queries.hall_access(session, user=user, hall=hall)


def _seed_issues(session: Session, hall: Hall, chair: User) -> None:
    """Issues in every stage that exists so far, with realistic Beijing topics (DOMAIN.md §7.2)."""
    from app.issues import schemas as issue_schemas
    from app.issues import service as issues
    from app.issues.models import Category, Scope, Source, Stance

    rows = queries.list_members(
        session, hall_id=hall.id or 0, status=MembershipStatus.VERIFIED, limit=400
    )
    residents = [r for r in rows if r.address is not None and r.user.id != chair.id]
    by_phone = {r.user.phone: r.user for r in rows if r.user.phone}
    chair_access = _access(session, chair, hall)
    # This community settled on 5 co-signatures (the default is 10): a chair's own choice.
    values = {field: str(getattr(hall, field)) for field in schemas.SETTING_BOUNDS} | {
        "cosign_threshold": "5"
    }
    hall = service.update_hall_settings(
        session=session,
        access=chair_access,
        actor=chair,
        hall=hall,
        form=schemas.SettingsForm(**values),
    )
    threshold = hall.cosign_threshold

    def propose(
        user: User, title: str, description: str, category: Category, **extra: object
    ) -> int:
        form = issue_schemas.ProposeForm(
            title=title, description=description, category=category, **extra
        )
        return (
            issues.propose_issue(
                session=session, access=_access(session, user, hall), actor=user, form=form
            ).id
            or 0
        )

    def cosign(issue_id: int, people: list[User]) -> None:
        for person in people:
            issues.cosign_issue(
                session=session,
                access=_access(session, person, hall),
                actor=person,
                issue_id=issue_id,
            )

    def comment(
        issue_id: int, user: User, body: str, stance: Stance, parent_id: int | None = None
    ) -> int:
        form = issue_schemas.CommentForm(body=body, stance=stance, parent_id=parent_id)
        return (
            issues.add_comment(
                session=session,
                access=_access(session, user, hall),
                actor=user,
                issue_id=issue_id,
                form=form,
            ).id
            or 0
        )

    chen = by_phone["13800000004"]
    liu = by_phone["13800000003"]
    others = [r.user for r in residents if r.user.phone not in {"13800000004", "13800000003"}]

    # 征集中: still collecting co-signatures.
    parking = propose(
        chen,
        "小区外来车辆乱停，建议实行错时停车",
        "晚上外来车辆占满消防通道和楼前空地，居民下班回来没地方停。建议与周边单位协商错时共享车位，外来车辆收费。",
        Category.PARKING,
        location="青年湖北街3号院东门",
    )
    cosign(parking, others[:3])

    # 待审核: an elevator for one entrance reached the threshold, co-signed by its neighbours.
    anchor = next(
        r
        for r in residents
        if r.address and r.address.building == "3号楼" and r.address.entrance == "2单元"
    )
    household = session.get(Household, anchor.membership.household_id)
    assert household is not None
    neighbours = [
        r.user
        for r in residents
        if r.address
        and r.address.building == "3号楼"
        and r.address.entrance == "2单元"
        and r.user.id != anchor.user.id
    ]
    elevator = propose(
        anchor.user,
        "3号楼2单元加装电梯",
        "单元里老人多，六楼的王奶奶已经半年没下楼了。希望加装电梯，按楼层分摊费用，申请政府补贴。",
        Category.ELEVATOR,
        scope=Scope.ENTRANCE,
        scope_entrance_id=household.entrance_id,
    )
    cosign(elevator, neighbours[: max(threshold, 1)])

    # 待审核, from a 12345 work order the chair entered.
    issues.enter_issue_on_behalf(
        session=session,
        access=chair_access,
        actor=chair,
        form=issue_schemas.OnBehalfIssueForm(
            title="5号楼暖气不热，室温不到16度",
            description="5号楼多户反映暖气不热，12345 转派到社区，需协调热力公司和物业。",
            category=Category.HEATING,
            source=Source.HOTLINE,
            work_order_no="BJ12345-20261118-0457",
        ),
    )

    # 协商中: deliberation with stances, a reply, 方案 and a hidden comment.
    ebike = propose(
        liu,
        "楼道飞线充电整治，建设集中充电桩",
        "不少居民从楼上拉电线给电动车充电，存在火灾隐患。建议在小区西侧空地建集中充电车棚。",
        Category.EBIKE,
        location="小区西侧空地",
    )
    cosign(ebike, others[3 : 3 + threshold])
    issues.accept_issue(
        session=session,
        access=chair_access,
        actor=chair,
        issue_id=ebike,
        form=issue_schemas.AcceptForm(deliberation_days="14"),
    )
    first = comment(ebike, others[0], "支持！去年隔壁小区就因为飞线充电着过火。", Stance.SUPPORT)
    comment(ebike, others[1], "车棚离3号楼太近，晚上充电会不会有噪音？", Stance.OPPOSE)
    comment(ebike, liu, "可以选低噪音的充电桩，离楼至少15米。", Stance.SUGGEST, parent_id=first)
    comment(ebike, others[2], "收费标准要公开，别让物业乱收钱。", Stance.SUGGEST)
    rude = comment(ebike, others[4], "谁反对谁就是自私！", Stance.NEUTRAL)
    issues.hide_comment(
        session=session,
        access=chair_access,
        actor=chair,
        comment_id=rude,
        form=issue_schemas.ReasonForm(reason="人身攻击，违反议事规则"),
    )
    for title, description, cost in (
        (
            "西侧空地建20个充电位的车棚",
            "由街道申请补贴，物业运营，每度电按居民电价加收服务费0.3元。",
            "86000",
        ),
        ("每栋楼门口装2个充电插座", "费用较低，但无法解决充电车辆停放问题。", "24000.50"),
    ):
        issues.add_solution(
            session=session,
            access=_access(session, liu, hall),
            actor=liu,
            issue_id=ebike,
            form=issue_schemas.SolutionForm(
                title=title, description=description, estimated_cost=cost
            ),
        )

    # 表决中: deliberation closed with a 协商意见.
    bins = propose(
        others[5],
        "垃圾桶站挪离2号楼窗下",
        "垃圾桶站紧挨2号楼一层窗户，夏天气味大。",
        Category.SANITATION,
    )
    cosign(bins, others[6 : 6 + threshold])
    issues.accept_issue(
        session=session,
        access=chair_access,
        actor=chair,
        issue_id=bins,
        form=issue_schemas.AcceptForm(),
    )
    comment(bins, others[7], "同意挪到路口，但要有人值守分类。", Stance.SUPPORT)
    solution = issues.add_solution(
        session=session,
        access=chair_access,
        actor=chair,
        issue_id=bins,
        form=issue_schemas.SolutionForm(
            title="挪到北侧路口并设桶前值守", description="志愿者早晚各值守一小时。"
        ),
    )
    issues.close_deliberation(
        session=session,
        access=chair_access,
        actor=chair,
        issue_id=bins,
        form=issue_schemas.CloseForm(
            agreements="桶站应离开住宅窗下；需要桶前值守。",
            disagreements="北侧路口车多：已请物业加装护栏。",
            solution_ids=[solution.id or 0],
        ),
    )

    # 征集中, a second one that stays below the threshold.
    benches = propose(
        others[13],
        "口袋公园增设带靠背的座椅",
        "小区东侧口袋公园只有两张石凳，老人散步没处歇脚。建议增设6张带靠背的木座椅。",
        Category.GREENING,
        location="东侧口袋公园",
    )
    cosign(benches, others[14:16])

    # 不予受理, 已合并 (its co-signers carried over send the parking issue to review), 已撤回.
    fee = propose(
        others[8], "要求物业免除全年物业费", "物业服务差，今年不交物业费。", Category.PROPERTY
    )
    cosign(fee, others[9 : 9 + threshold])
    issues.reject_issue(
        session=session,
        access=chair_access,
        actor=chair,
        issue_id=fee,
        form=issue_schemas.ReasonForm(
            reason="物业费依合同收取，不属于协商事项；已转业委会督促物业整改服务。"
        ),
    )
    duplicate = propose(others[10], "东门晚上车停得乱", "消防通道被堵。", Category.PARKING)
    cosign(duplicate, others[11 : 11 + threshold])
    issues.merge_issue(
        session=session,
        access=chair_access,
        actor=chair,
        issue_id=duplicate,
        form=issue_schemas.MergeForm(target_id=parking),
    )
    dogs = propose(others[12], "规定遛狗时段", "早上小孩上学时遛狗的人太多。", Category.PETS)
    issues.withdraw_issue(
        session=session, access=_access(session, others[12], hall), actor=others[12], issue_id=dogs
    )


def _seed_votes(
    session: Session, hall: Hall, chair: User, register: Callable[[str, str], User]
) -> None:
    """民决 in the demo: 加装电梯 for 3号楼1单元 decided by the entrance's owners (民法典 278,
    major matter) on phones and on paper, now in 公示 with an objection answered; and the
    垃圾桶站 issue's household vote open with a live tally."""
    import uuid

    from app.issues import schemas as issue_schemas
    from app.issues.models import Category, Issue, Scope, Source
    from app.voting import queries as vote_queries
    from app.voting import schemas as vote_schemas
    from app.voting import service as voting
    from app.voting.models import PaperResult, VoterUnit
    from app.voting.rules import RuleKind

    chair_access = _access(session, chair, hall)
    entrance = session.exec(
        select(Entrance)
        .join(Building, col(Building.id) == Entrance.building_id)
        .where(Building.hall_id == hall.id, Building.name == "3号楼", Entrance.name == "1单元")
    ).one()
    flats = session.exec(
        select(Household).where(Household.entrance_id == entrance.id).order_by(col(Household.id))
    ).all()
    owners = []
    for (phone, name), flat in zip(ELEVATOR_OWNERS, flats[6:], strict=False):
        user = register(phone, name)
        membership = service.join_hall(
            session=session,
            user=user,
            token=hall.invite_token,
            form=schemas.JoinForm(household_id=flat.id, relation=Relation.OWNER),
        )
        service.verify_member(
            session=session, access=chair_access, actor=chair, membership_id=membership.id or 0
        )
        owners.append(user)
    by_phone = {u.phone: u for u in session.exec(select(User)).all()}
    counter, scrutineer = by_phone["13800000002"], by_phone["13800000006"]

    elevator_id, plan_id = _to_decision(
        session,
        chair_access,
        chair,
        issue_schemas.OnBehalfIssueForm(
            title="3号楼1单元加装电梯",
            description="本单元六层，老人多，上下楼困难。单元居民联名来信，申请加装电梯。",
            category=Category.ELEVATOR,
            scope=Scope.ENTRANCE,
            scope_building_id=entrance.building_id,
            scope_entrance_id=entrance.id,
            source=Source.PAPER,
        ),
        issue_schemas.SolutionForm(
            title="加装外挂电梯，费用按楼层系数分摊",
            description="一层不出资，二层起按系数 0.3–1.2 分摊；申请老旧小区改造补贴。",
            estimated_cost="680000",
        ),
        issue_schemas.CloseForm(
            agreements="本单元多数业主支持加装；费用按楼层分摊。",
            disagreements="一层业主担心采光和噪音：设计避开一层窗户，施工期给予补偿。",
        ),
    )
    ballot = voting.create_ballot(
        session=session,
        access=chair_access,
        actor=chair,
        issue_id=elevator_id,
        form=vote_schemas.BallotForm(
            title="是否同意3号楼1单元加装电梯（按楼层系数分摊费用）",
            rule=RuleKind.OWNERS_MAJOR,
            scope=Scope.ENTRANCE,
            scope_entrance_id=entrance.id,
            subject_solution_id=plan_id,
            secret=True,
            counter_ids=[counter.id or 0],
            scrutineer_ids=[scrutineer.id or 0],
            meeting_note="单元业主会 · 社区议事厅",
        ),
    )
    ballot_id = ballot.id or 0
    voting.open_ballot(session=session, access=chair_access, actor=chair, ballot_id=ballot_id)
    for user, choice in zip(owners, ("yes", "yes", "no"), strict=True):
        voting.cast_vote(
            session=session,
            access=_access(session, user, hall),
            actor=user,
            ballot_id=ballot_id,
            form=vote_schemas.VoteForm(option=choice, submission_id=str(uuid.uuid4())),
        )
    voting.issue_paper_ballots(
        session=session, access=chair_access, actor=chair, ballot_id=ballot_id
    )
    phone_rolls = {
        r.entry.id for r in vote_queries.roll_rows(session, ballot) if r.vote_id is not None
    }
    papers = [
        (paper, roll)
        for paper, roll in vote_queries.paper_ballots(session, ballot_id)
        if roll.id not in phone_rolls
    ]
    readings = ["yes"] * 10 + ["no", "blank", "yes"]
    counter_access = _access(session, counter, hall)
    scrutineer_access = _access(session, scrutineer, hall)
    for (paper, _), reading in zip(papers, readings, strict=False):
        entry = voting.enter_paper(
            session=session,
            access=counter_access,
            actor=counter,
            ballot_id=ballot_id,
            form=vote_schemas.PaperEntryForm(
                code=paper.code,
                result=PaperResult.BLANK if reading == "blank" else PaperResult.VOTE,
                option="" if reading == "blank" else reading,
                submission_id=str(uuid.uuid4()),
            ),
        )
        voting.confirm_paper(
            session=session,
            access=scrutineer_access,
            actor=scrutineer,
            ballot_id=ballot_id,
            entry_id=entry.id or 0,
            agree=True,
        )
    voting.close_ballot(session=session, access=chair_access, actor=chair, ballot_id=ballot_id)
    objector = owners[2]
    objection = voting.file_objection(
        session=session,
        access=_access(session, objector, hall),
        actor=objector,
        issue_id=elevator_id,
        form=vote_schemas.ObjectionForm(body="我家在三层，担心电梯井挡住厨房窗户的采光。"),
    )
    voting.answer_objection(
        session=session,
        access=chair_access,
        actor=chair,
        objection_id=objection.id or 0,
        form=vote_schemas.AnswerForm(
            answer="设计单位已调整井道位置，避开各层厨房窗户；施工前请您到现场确认。",
            upheld=False,
        ),
    )

    # The 垃圾桶站 issue: a live household vote of the whole community, still open.
    bins = session.exec(
        select(Issue).where(Issue.hall_id == hall.id, Issue.title == "垃圾桶站挪离2号楼窗下")
    ).one()
    live = voting.create_ballot(
        session=session,
        access=chair_access,
        actor=chair,
        issue_id=bins.id or 0,
        form=vote_schemas.BallotForm(
            title="是否同意把垃圾桶站挪到北侧路口并设桶前值守",
            rule=RuleKind.RESIDENTS_MEETING,
            voter_unit=VoterUnit.HOUSEHOLD,
            secret=True,
            live_results=True,
            meeting_note="居民会议 · 青年湖社区议事厅",
        ),
    )
    voting.open_ballot(session=session, access=chair_access, actor=chair, ballot_id=live.id or 0)
    for phone, choice in (("13800000003", "yes"), ("13800000004", "yes"), ("13800000007", "no")):
        voter = by_phone[phone]
        voting.cast_vote(
            session=session,
            access=_access(session, voter, hall),
            actor=voter,
            ballot_id=live.id or 0,
            form=vote_schemas.VoteForm(option=choice, submission_id=str(uuid.uuid4())),
        )


def _seed_outcomes(session: Session, hall: Hall, chair: User) -> None:
    """The end of 民决: a 协商一致 whose 公示 ended last week, now in 民办, seeded on a clock
    set back in time, so its timeline reads as it happened. (The 议事会 votes are held at the
    meeting: _seed_meetings.)"""
    from datetime import timedelta

    from app.core import clock
    from app.issues import schemas as issue_schemas
    from app.issues.models import Category, Source
    from app.voting import schemas as vote_schemas
    from app.voting import service as voting
    from app.voting.rules import RuleKind

    chair_access = _access(session, chair, hall)

    def deciding(title: str, description: str, category: Category, plan: str) -> int:
        issue_id, _ = _to_decision(
            session,
            chair_access,
            chair,
            issue_schemas.OnBehalfIssueForm(
                title=title, description=description, category=category, source=Source.PHONE
            ),
            issue_schemas.SolutionForm(title=plan, description=plan),
            issue_schemas.CloseForm(
                agreements="与会各方同意按方案办理。", disagreements="无实质分歧。"
            ),
        )
        return issue_id

    started = clock.now() - timedelta(days=hall.publicity_days + 5)
    clock.freeze(started)
    try:
        park = deciding(
            "东门空地改口袋公园，增设座椅",
            "东门内侧空地常年堆放杂物，老人希望有地方坐一坐、晒晒太阳。",
            Category.GREENING,
            "清理杂物，铺透水砖，增设6组座椅和2处树池",
        )
        consensus = voting.create_ballot(
            session=session,
            access=chair_access,
            actor=chair,
            issue_id=park,
            form=vote_schemas.BallotForm(title="东门口袋公园改造方案", rule=RuleKind.CONSENSUS),
        )
        consensus_resolution = voting.record_consensus(
            session=session,
            access=chair_access,
            actor=chair,
            ballot_id=consensus.id or 0,
            form=vote_schemas.ConsensusForm(
                passed=True, text="议事会协商一致：按方案改造东门空地，由物业组织施工。"
            ),
        )
        # The 公示 ended unopposed five days ago; the chair moved it to 民办 an hour later.
        assert consensus_resolution.publicity_ends_at is not None
        clock.freeze(consensus_resolution.publicity_ends_at + timedelta(hours=1))
        voting.end_publicity(session=session, access=chair_access, actor=chair, issue_id=park)
    finally:
        clock.freeze(None)


def _seed_meetings(session: Session, hall: Hall, chair: User) -> None:
    """协商会议 in the demo: the 议事会 held last week — 6 agenda items, the council members
    signed in on their phones, a guest from the street's 城管科, speeches noted by the
    recorder, two ballots held at it (停车收费 failed, 充电桩 passed) and minutes signed by
    the 主持人 and the 记录人; and a 居民代表会议 next week, its invitations sent. Seeded on a
    clock set back to the days it happened, so every timeline reads as it did."""
    import uuid
    from datetime import datetime, time, timedelta

    from app.core import clock
    from app.issues import schemas as issue_schemas
    from app.issues.models import Category, Issue, Source
    from app.meetings import queries as meeting_queries
    from app.meetings import schemas as meeting_schemas
    from app.meetings import service as meetings
    from app.meetings.models import GuestKind
    from app.meetings.rules import MeetingKind
    from app.voting import schemas as vote_schemas
    from app.voting import service as voting

    by_phone = {u.phone: u for u in session.exec(select(User)).all()}
    recorder = by_phone["13800000002"]  # 李明, 记录员 and 议事会成员
    council = [by_phone[p] for p in ("13800000002", "13800000003", "13800000006")]
    chair_access = _access(session, chair, hall)
    beijing = meeting_schemas.BEIJING
    today = clock.now().astimezone(beijing).date()
    held = datetime.combine(today - timedelta(days=7), time(19, 0), tzinfo=beijing)

    def deciding(title: str, description: str, category: Category, plan: str) -> int:
        issue_id, _ = _to_decision(
            session,
            chair_access,
            chair,
            issue_schemas.OnBehalfIssueForm(
                title=title, description=description, category=category, source=Source.PHONE
            ),
            issue_schemas.SolutionForm(title=plan, description=plan),
            issue_schemas.CloseForm(
                agreements="议事会成员同意提交表决。", disagreements="收费标准有不同意见。"
            ),
        )
        return issue_id

    def speak(name: str, identity: str, summary: str) -> None:
        meetings.record_speech(
            session=session,
            access=_access(session, recorder, hall),
            actor=recorder,
            meeting_id=meeting_id,
            form=meeting_schemas.SpeechForm(speaker_name=name, identity=identity, summary=summary),
        )

    def item(position: int) -> None:
        meetings.set_current_item(
            session=session,
            access=chair_access,
            actor=chair,
            meeting_id=meeting_id,
            form=meeting_schemas.CurrentItemForm(item_id=items[position]),
        )

    def vote(ballot_id: int, choices: tuple[str, ...]) -> None:
        voting.open_ballot(session=session, access=chair_access, actor=chair, ballot_id=ballot_id)
        for member, choice in zip(council, choices, strict=True):
            voting.cast_vote(
                session=session,
                access=_access(session, member, hall),
                actor=member,
                ballot_id=ballot_id,
                form=vote_schemas.VoteForm(
                    option=choice, submission_id=str(uuid.uuid4()), consent=True
                ),
            )
        voting.close_ballot(session=session, access=chair_access, actor=chair, ballot_id=ballot_id)

    park = session.exec(
        select(Issue.id).where(
            Issue.hall_id == hall.id, Issue.title == "东门空地改口袋公园，增设座椅"
        )
    ).one()
    clock.freeze(held - timedelta(days=10))
    try:
        fee = deciding(
            "外来车辆停车收费标准上调",
            "物业提出外来车辆临时停车费由每小时2元调至5元。",
            Category.PARKING,
            "外来车辆每小时5元，业主访客凭登记首2小时免费",
        )
        charger = deciding(
            "南门增设电动自行车充电桩",
            "楼道里给电动自行车充电有火灾隐患，居民希望在南门车棚增设充电桩。",
            Category.EBIKE,
            "南门车棚增设20个充电口，按度计费，物业负责维护",
        )
        meeting = meetings.schedule_meeting(
            session=session,
            access=chair_access,
            actor=chair,
            form=meeting_schemas.MeetingForm(
                kind=MeetingKind.COUNCIL,
                title="青年湖社区议事会（十二月）",
                starts_at=held.isoformat(),
                ends_at=(held + timedelta(hours=2, minutes=30)).isoformat(),
                place="社区议事厅（青年湖北街3号院社区服务站二楼）",
                chair_id=chair.id,
                recorder_id=recorder.id,
                issue_ids=[fee, charger, park],
                free_items=["上次议定事项办理情况通报", "物业服务季度报告", "其他事项"],
                invite_roles=[Role.PROPERTY_REP, Role.OBSERVER],
                guests=[
                    meeting_schemas.GuestIn(
                        name="刘建军", kind=GuestKind.DEPARTMENT, organisation="和平里街道城管科"
                    )
                ],
            ),
        )
        meeting_id = meeting.id or 0
        ballots = [
            voting.create_ballot(
                session=session,
                access=chair_access,
                actor=chair,
                issue_id=issue_id,
                form=vote_schemas.BallotForm(title=title, meeting_id=meeting_id, secret=False),
            ).id
            or 0
            for issue_id, title in (
                (fee, "是否同意外来车辆停车费调至每小时5元"),
                (charger, "是否同意在南门车棚增设20个电动自行车充电口"),
            )
        ]
        clock.freeze(held - timedelta(minutes=20))
        for member in council:
            meetings.sign_in_self(
                session=session,
                access=_access(session, member, hall),
                actor=member,
                meeting_id=meeting_id,
                token=meeting.signin_token,
            )
        meetings.sign_in_by_chair(
            session=session,
            access=chair_access,
            actor=chair,
            meeting_id=meeting_id,
            form=meeting_schemas.SignInForm(
                guest=meeting_schemas.GuestIn(
                    name="刘建军", kind=GuestKind.DEPARTMENT, organisation="和平里街道城管科"
                )
            ),
        )
        clock.freeze(held)
        meetings.start_meeting(
            session=session, access=chair_access, actor=chair, meeting_id=meeting_id
        )
        items = [row.item.id or 0 for row in meeting_queries.agenda(session, meeting)]
        item(0)
        speak("王秀英", "居委会主任", "通报上月议定的楼道堆物清理已完成，3号楼加装电梯进入公示。")
        clock.freeze(held + timedelta(minutes=20))
        item(1)
        speak("赵振华", "物业代表", "报告三季度保洁、绿化、维修工单情况，及时率92%。")
        speak("孙建国", "业委会代表", "建议物业按月公示维修资金使用明细。")
        clock.freeze(held + timedelta(minutes=45))
        item(2)
        speak("赵振华", "物业代表", "外来车辆占用业主车位，建议临时停车费调至每小时5元。")
        speak("刘德明", "居民代表", "老人子女探望多，上调过多影响访客，不同意。")
        speak("李明", "议事会成员", "可先对长时间停放车辆加价，短时停放维持原价。")
        vote(ballots[0], ("no", "no", "yes"))
        voting.settle_failed(
            session=session,
            access=chair_access,
            actor=chair,
            ballot_id=ballots[0],
            form=vote_schemas.FailedOutcomeForm(outcome="not_passed"),
        )
        clock.freeze(held + timedelta(minutes=80))
        item(3)
        speak("刘建军", "街道城管科", "楼道充电属消防隐患，街道支持增设集中充电设施。")
        speak("孙建国", "业委会代表", "同意，建议按度计费、物业负责日常巡查。")
        vote(ballots[1], ("yes", "yes", "yes"))
        clock.freeze(held + timedelta(minutes=110))
        item(4)
        speak("刘德明", "居民代表", "口袋公园已开工，希望座椅选用带靠背的。")
        item(5)
        speak("郑淑珍", "区人大代表", "建议下次议事会邀请周边商户参加停车问题协商。")
        clock.freeze(held + timedelta(hours=2, minutes=20))
        meetings.end_meeting(
            session=session, access=chair_access, actor=chair, meeting_id=meeting_id
        )
        clock.freeze(held + timedelta(days=1, hours=-9))
        recorder_access = _access(session, recorder, hall)
        meetings.edit_minutes(
            session=session,
            access=recorder_access,
            actor=recorder,
            meeting_id=meeting_id,
            form=meeting_schemas.MinutesForm(
                version=0,
                resolutions=(
                    "一、外来车辆停车费上调方案未获通过，请物业会同居民代表另拟分时段方案。\n"
                    "二、同意在南门车棚增设20个电动自行车充电口，按度计费，物业负责维护。"
                ),
                tasks=(
                    "南门车棚充电口安装 | 物业 | 2027-01-31\n"
                    "分时段停车收费方案 | 物业、居民代表 | 2027-01-15"
                ),
                publicity="表决结果在社区公告栏和议事厅公示7天。",
                notes="下次议事会邀请周边商户参加停车问题协商。",
            ),
        )
        for signer, line in ((chair, "chair"), (recorder, "recorder")):
            meetings.sign_minutes(
                session=session,
                access=_access(session, signer, hall),
                actor=signer,
                meeting_id=meeting_id,
                form=meeting_schemas.SignMinutesForm(line=line),
            )
    finally:
        clock.freeze(None)

    # Next week: a 居民代表会议 on the 垃圾桶站, its invitations sent.
    bins = session.exec(
        select(Issue.id).where(Issue.hall_id == hall.id, Issue.title == "垃圾桶站挪离2号楼窗下")
    ).one()
    upcoming = datetime.combine(today + timedelta(days=6), time(19, 0), tzinfo=beijing)
    meetings.schedule_meeting(
        session=session,
        access=chair_access,
        actor=chair,
        form=meeting_schemas.MeetingForm(
            kind=MeetingKind.REPRESENTATIVES,
            title="青年湖社区居民代表会议",
            starts_at=upcoming.isoformat(),
            ends_at=(upcoming + timedelta(hours=2)).isoformat(),
            place="社区议事厅（青年湖北街3号院社区服务站二楼）",
            chair_id=chair.id,
            recorder_id=recorder.id,
            issue_ids=[bins],
            free_items=["2027年社区为民办事项目征集", "其他事项"],
            invite_roles=[Role.PROPERTY_REP, Role.OWNERS_COMMITTEE_REP, Role.OBSERVER],
            guests=[
                meeting_schemas.GuestIn(
                    name="何立新", kind=GuestKind.UNIT, organisation="和平里第一小学"
                )
            ],
        ),
    )


def _to_decision(
    session: Session,
    chair_access: HallAccess,
    chair: User,
    entered: OnBehalfIssueForm,
    plan: SolutionForm,
    opinion: CloseForm,
) -> tuple[int, int]:
    """An issue the chair enters, accepts, gives one 方案 and closes with a 协商意见 that sends
    that 方案 to the decision: (issue id, 方案 id), the issue in 表决中."""
    from app.issues import schemas as issue_schemas
    from app.issues import service as issues

    issue = issues.enter_issue_on_behalf(
        session=session, access=chair_access, actor=chair, form=entered
    )
    issue_id = issue.id or 0
    issues.accept_issue(
        session=session,
        access=chair_access,
        actor=chair,
        issue_id=issue_id,
        form=issue_schemas.AcceptForm(),
    )
    solution = issues.add_solution(
        session=session, access=chair_access, actor=chair, issue_id=issue_id, form=plan
    )
    opinion.solution_ids = [solution.id or 0]
    issues.close_deliberation(
        session=session, access=chair_access, actor=chair, issue_id=issue_id, form=opinion
    )
    return issue_id, solution.id or 0


# --- 民办 · 吹哨报到 · 民评 (issue #13) --------------------------------------------------------

# The street's departments (部门), each with the member who logs in to its 部门待办.
DEPARTMENT_PEOPLE: list[tuple[str, str, str]] = [
    ("13800000008", "吴卫东", "城管科"),  # also hall A's 部门代表 (PEOPLE)
    ("13800000021", "钱永刚", "市政所"),
    ("13800000022", "何丽华", "房管所"),
]
PROPERTY_COMPANY = "和平里物业管理有限公司"
PARK_TITLE = "东门空地改口袋公园，增设座椅"


def _demo_photo(step: int) -> bytes:
    """A small JPEG for a progress update (the upload path re-encodes it without EXIF)."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 360), (196, 214, 190))
    draw = ImageDraw.Draw(image)
    for i in range(6):
        x = 40 + i * 70
        draw.rectangle((x, 200 + step * 12, x + 44, 300), fill=(120 + i * 15, 96, 72))
    draw.rectangle((0, 300, 480, 360), fill=(150, 150, 150))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def _seed_implementation(
    session: Session,
    street: Street,
    halls: list[Hall],
    chair: User,
    official: User,
    register: Callable[[str, str], User],
) -> None:
    """民办 · 吹哨报到 · 民评 in hall A, each story dated back with the clock set step by step:

    - the 口袋公园 (in 民办 since its 公示 ended): the 物业 cleared the site (done, with photos),
      the 居委会 buys the benches (40 %), three residents 认领 the volunteers' task, and the
      物业's construction plan is overdue; a 吹哨 to 城管科 was answered in time with 市政所;
    - 5号楼南侧雨水井塌陷 (民办): a 紧急 吹哨 dispatched to 市政所 and overdue for 报到, a
      水电气热 one 房管所 报到 in time and is working on, and one waiting for the street to dispatch;
    - 楼道感应灯 (已办结): round 1 of 民评 reopened it (不满意 above 1/3), the 物业 fixed the
      rest, round 2 closed it; its 结果公示 prints;
    - 健身器材 (评价中): its round is open; some residents answered, on phones and on paper.
    """
    from datetime import timedelta

    from app.core import clock
    from app.escalations import queries as escalation_queries
    from app.escalations import schemas as escalation_schemas
    from app.escalations import service as escalations
    from app.escalations.models import Urgency, WhistleCategory
    from app.evaluations import schemas as evaluation_schemas
    from app.evaluations import service as evaluations
    from app.issues.models import Category, Issue
    from app.tasks import schemas as task_schemas
    from app.tasks import service as tasks
    from app.tasks.models import PartyType, TaskStatus
    from app.tasks.schemas import BEIJING

    hall = halls[0]
    now = clock.now()
    company = service.create_property_company(
        session=session, street=street, name=PROPERTY_COMPANY, actor_id=official.id
    )
    for each in halls:
        service.set_property_company(
            session=session, hall=each, company=company, actor_id=official.id
        )
    chair_access = _access(session, chair, hall)
    by_phone = {u.phone: u for u in session.exec(select(User)).all()}
    resident = {name: by_phone[phone] for phone, name, *_ in PEOPLE}
    recorder = resident["李明"]
    paper_members = [
        m.id or 0
        for m in session.exec(
            select(Membership)
            .join(User, col(User.id) == Membership.user_id)
            .where(
                Membership.hall_id == hall.id,
                Membership.status == MembershipStatus.VERIFIED,
                col(User.password_hash).is_(None),
            )
            .order_by(col(Membership.id))
            .limit(4)
        ).all()
    ]

    def task(issue_id: int, title: str, party: PartyType, due: datetime, **extra: Any) -> int:
        form = task_schemas.TaskForm(
            title=title,
            party_type=party,
            due_at=due.astimezone(BEIJING).date().isoformat(),
            **extra,
        )
        added = tasks.add_task(
            session=session, access=chair_access, actor=chair, issue_id=issue_id, form=form
        )
        return added.id or 0

    def progress(issue_id: int, task_id: int, text: str, value: int, *photos: bytes) -> None:
        tasks.report_progress(
            session=session,
            access=chair_access,
            actor=chair,
            issue_id=issue_id,
            task_id=task_id,
            form=task_schemas.UpdateForm(
                text=text,
                progress=value,
                status=TaskStatus.DONE if value == 100 else TaskStatus.IN_PROGRESS,
            ),
            uploads=photos,
        )

    def answer(issue_id: int, name: str, satisfaction: str, resolved: str, comment: str) -> None:
        person = resident[name]
        evaluations.answer(
            session=session,
            access=_access(session, person, hall),
            actor=person,
            issue_id=issue_id,
            form=evaluation_schemas.AnswerForm(
                satisfaction=satisfaction, resolved=resolved, comment=comment
            ),
        )

    def paper(issue_id: int, index: int, satisfaction: str, resolved: str) -> None:
        evaluations.enter_paper(
            session=session,
            access=_access(session, recorder, hall),
            actor=recorder,
            issue_id=issue_id,
            form=evaluation_schemas.PaperAnswerForm(
                membership_id=paper_members[index], satisfaction=satisfaction, resolved=resolved
            ),
        )

    def open_round(issue_id: int) -> datetime:
        row = evaluations.open_round(
            session=session, access=chair_access, actor=chair, issue_id=issue_id
        )
        return row.ends_at

    def close_round(issue_id: int) -> None:
        evaluations.close_round(
            session=session, access=chair_access, actor=chair, issue_id=issue_id
        )

    # The street's departments and the people who answer for them.
    street_access = queries.street_access(session, user=official, street_id=street.id or 0)
    departments: dict[str, int] = {}
    for phone, name, department in DEPARTMENT_PEOPLE:
        if phone not in by_phone:
            by_phone[phone] = register(phone, name)
        created = escalations.create_department(
            session=session,
            access=street_access,
            actor=official,
            form=escalation_schemas.DepartmentForm(name=department),
        )
        departments[department] = created.id or 0
        escalations.add_department_member(
            session=session,
            access=street_access,
            actor=official,
            department_id=created.id or 0,
            form=escalation_schemas.MemberForm(phone=phone),
        )

    def as_department(name: str) -> tuple[Any, User]:
        phone = next(p for p, _, d in DEPARTMENT_PEOPLE if d == name)
        person = by_phone[phone]
        access = escalation_queries.department_access(
            session, user_id=person.id or 0, department_id=departments[name]
        )
        assert access is not None
        return access, person

    def whistle(issue_id: int, urgency: Urgency, category: WhistleCategory, text: str) -> int:
        raised = escalations.raise_escalation(
            session=session,
            access=chair_access,
            actor=chair,
            issue_id=issue_id,
            form=escalation_schemas.EscalationForm(
                category=category, urgency=urgency, summary=text
            ),
        )
        return raised.id or 0

    def dispatch(escalation_id: int, department: str) -> None:
        escalations.dispatch(
            session=session,
            access=street_access,
            actor=official,
            escalation_id=escalation_id,
            form=escalation_schemas.DispatchForm(department_id=departments[department]),
        )

    park = (
        session.exec(
            select(Issue.id).where(Issue.hall_id == hall.id, Issue.title == PARK_TITLE)
        ).one()
        or 0
    )
    try:
        # The 口袋公园: 民办 since its 公示 ended (_seed_outcomes), five days ago.
        start = now - timedelta(days=4, hours=20)
        clock.freeze(start)
        clear = task(
            park,
            "清理东门空地堆放的杂物",
            PartyType.PROPERTY,
            start + timedelta(days=3),
            is_milestone=True,
        )
        benches = task(
            park, "采购6组座椅和2处树池", PartyType.COMMITTEE, now + timedelta(days=10), weight=2
        )
        sweep = task(
            park,
            "周末义务劳动：铺砖后清扫、摆放座椅",
            PartyType.VOLUNTEERS,
            now + timedelta(days=12),
            volunteer_cap=8,
        )
        task(
            park,
            "报送铺装施工方案",
            PartyType.PROPERTY,
            now - timedelta(days=1),
            helpers="居委会审核",
        )
        clock.freeze(start + timedelta(days=1))
        progress(
            park, clear, "已清运杂物两车，剩余废旧自行车待城管认定后处理。", 50, _demo_photo(1)
        )
        clock.freeze(start + timedelta(days=1, hours=2))
        bikes = whistle(
            park,
            Urgency.GENERAL,
            WhistleCategory.ENFORCEMENT,
            "东门空地上有二十多辆无主废旧自行车和一处违建棚子，需城管依法认定、清理",
        )
        clock.freeze(start + timedelta(days=1, hours=3))
        dispatch(bikes, "城管科")
        clock.freeze(start + timedelta(days=1, hours=4))
        lead, person = as_department("城管科")
        escalations.acknowledge(session=session, access=lead, actor=person, escalation_id=bikes)
        clock.freeze(start + timedelta(days=1, hours=6))
        escalations.ask_help(
            session=session,
            access=lead,
            actor=person,
            escalation_id=bikes,
            form=escalation_schemas.HelpForm(
                department_id=departments["市政所"], text="棚子拆除后需恢复人行道路面"
            ),
        )
        clock.freeze(start + timedelta(days=2))
        helper, helper_person = as_department("市政所")
        escalations.reply(
            session=session,
            access=helper,
            actor=helper_person,
            escalation_id=bikes,
            form=escalation_schemas.TextForm(text="已安排周三修复东门内侧人行道"),
        )
        clock.freeze(start + timedelta(days=3))
        escalations.resolve(
            session=session,
            access=lead,
            actor=person,
            escalation_id=bikes,
            form=escalation_schemas.TextForm(
                text="无主自行车已公告后清运，违建棚子已拆除，路面已恢复"
            ),
        )
        clock.freeze(start + timedelta(days=3, hours=2))
        progress(park, clear, "废旧自行车已由城管清走，空地清理完毕。", 100, _demo_photo(4))
        clock.freeze(now - timedelta(days=1, hours=4))
        progress(park, benches, "已向三家供应商询价，座椅选定防腐木带靠背款式。", 40)
        for offset, name in enumerate(("陈桂兰", "刘德明", "孙建国")):
            clock.freeze(now - timedelta(hours=30 - offset * 3))
            person = resident[name]
            tasks.claim_task(
                session=session,
                access=_access(session, person, hall),
                actor=person,
                issue_id=park,
                task_id=sweep,
            )

        # 5号楼南侧雨水井: a 紧急 吹哨 overdue for 报到, and one waiting for dispatch.
        well = _to_implementing(
            session,
            chair_access,
            chair,
            now - timedelta(days=12),
            "5号楼南侧雨水井塌陷，雨后路面积水",
            "5号楼南侧雨水井井盖下沉，下雨后积水没过脚面，老人出门要绕行。",
            Category.SAFETY,
            "请市政部门修复雨水井，物业先设置警示围挡",
        )
        clock.freeze(now - timedelta(days=2))
        fence = task(well, "雨水井周边设置警示围挡", PartyType.PROPERTY, now + timedelta(days=1))
        progress(well, fence, "围挡已设置，夜间加装警示灯。", 100, _demo_photo(2))
        task(well, "协调市政修复雨水井", PartyType.STREET_OFFICE, now + timedelta(days=7))
        clock.freeze(now - timedelta(hours=5))
        burst = whistle(
            well,
            Urgency.EMERGENCY,
            WhistleCategory.EMERGENCY,
            "5号楼南侧雨水井井盖塌陷，坑深约半米，夜间有行人跌落风险，请协调抢修",
        )
        clock.freeze(now - timedelta(hours=4, minutes=50))
        dispatch(burst, "市政所")
        clock.freeze(now - timedelta(hours=3))
        power = whistle(
            well,
            Urgency.UTILITIES,
            WhistleCategory.DEMAND,
            "积水倒灌5号楼地下室配电间，请协调供电部门检查",
        )
        clock.freeze(now - timedelta(hours=2, minutes=50))
        dispatch(power, "房管所")
        clock.freeze(now - timedelta(hours=2, minutes=20))
        housing, housing_person = as_department("房管所")
        escalations.acknowledge(
            session=session, access=housing, actor=housing_person, escalation_id=power
        )
        clock.freeze(now - timedelta(hours=2))
        escalations.reply(
            session=session,
            access=housing,
            actor=housing_person,
            escalation_id=power,
            form=escalation_schemas.TextForm(text="已联系供电公司，明早八点到场检修配电间"),
        )
        clock.freeze(now - timedelta(hours=1))
        whistle(
            well,
            Urgency.GENERAL,
            WhistleCategory.DEMAND,
            "5号楼南侧两盏路灯不亮，积水处夜间看不清，请协调修复",
        )

        # 楼道感应灯: reopened by round 1 of 民评, closed by round 2.
        lights = _to_implementing(
            session,
            chair_access,
            chair,
            now - timedelta(days=62),
            "楼道感应灯坏了不少，晚上上下楼摸黑",
            "1至6号楼不少楼层的感应灯不亮，老人晚上下楼很危险。",
            Category.BUILDING,
            "物业统一更换1至6号楼楼道感应灯",
        )
        clock.freeze(now - timedelta(days=50))
        bulbs = task(lights, "更换1至6号楼楼道感应灯", PartyType.PROPERTY, now - timedelta(days=40))
        clock.freeze(now - timedelta(days=46))
        progress(lights, bulbs, "共更换感应灯86盏。", 100, _demo_photo(3))
        clock.freeze(now - timedelta(days=45))
        ends = open_round(lights)
        clock.freeze(now - timedelta(days=44))
        answer(lights, "陈桂兰", "dissatisfied", "no", "4号楼地下室和楼梯间还是黑的。")
        answer(lights, "刘德明", "basic", "yes", "")
        answer(lights, "孙建国", "dissatisfied", "no", "地下室的灯没换。")
        answer(lights, "周文华", "satisfied", "yes", "")
        paper(lights, 0, "dissatisfied", "no")
        paper(lights, 1, "satisfied", "yes")
        clock.freeze(ends + timedelta(hours=1))
        close_round(lights)  # 3 of 6 不满意, more than 1/3: back to 民办
        clock.freeze(ends + timedelta(days=1))
        basement = task(
            lights, "补装4号楼地下室和楼梯间照明", PartyType.PROPERTY, now - timedelta(days=20)
        )
        clock.freeze(now - timedelta(days=23))
        progress(lights, basement, "地下室和楼梯间新装12盏灯。", 100, _demo_photo(5))
        clock.freeze(now - timedelta(days=22))
        ends = open_round(lights)
        clock.freeze(now - timedelta(days=21))
        answer(lights, "陈桂兰", "satisfied", "yes", "地下室也亮了，谢谢物业。")
        answer(lights, "刘德明", "satisfied", "yes", "")
        answer(lights, "孙建国", "basic", "yes", "")
        answer(lights, "周文华", "satisfied", "yes", "")
        paper(lights, 0, "satisfied", "yes")
        paper(lights, 1, "basic", "yes")
        clock.freeze(ends + timedelta(hours=2))
        close_round(lights)  # none 不满意: 已办结

        # 健身器材: its round of 民评 is open now.
        gym = _to_implementing(
            session,
            chair_access,
            chair,
            now - timedelta(days=30),
            "东侧健身器材老化，扭腰器已断裂",
            "小区东侧健身区的扭腰器断裂、漫步机生锈，锻炼的老人有受伤风险。",
            Category.SAFETY,
            "物业更换损坏的健身器材",
        )
        clock.freeze(now - timedelta(days=15))
        repair = task(gym, "更换扭腰器和漫步机", PartyType.PROPERTY, now - timedelta(days=3))
        clock.freeze(now - timedelta(days=4))
        progress(gym, repair, "两件器材已更换并验收。", 100, _demo_photo(6))
        clock.freeze(now - timedelta(days=2))
        open_round(gym)
        clock.freeze(now - timedelta(days=1))
        answer(gym, "刘德明", "satisfied", "yes", "新器材很结实。")
        answer(gym, "孙建国", "basic", "yes", "")
        paper(gym, 2, "satisfied", "yes")
    finally:
        clock.freeze(None)


def _to_implementing(
    session: Session,
    chair_access: HallAccess,
    chair: User,
    at: datetime,
    title: str,
    description: str,
    category: Category,
    plan: str,
) -> int:
    """An issue entered at `at`, decided 协商一致 and through its 公示 unopposed: 民办 an hour
    after the 公示 ends (the clock is left there)."""
    from datetime import timedelta

    from app.core import clock
    from app.issues import schemas as issue_schemas
    from app.issues.models import Source
    from app.voting import schemas as vote_schemas
    from app.voting import service as voting
    from app.voting.rules import RuleKind

    clock.freeze(at)
    issue_id, _ = _to_decision(
        session,
        chair_access,
        chair,
        issue_schemas.OnBehalfIssueForm(
            title=title, description=description, category=category, source=Source.PHONE
        ),
        issue_schemas.SolutionForm(title=plan, description=plan),
        issue_schemas.CloseForm(
            agreements="与会各方同意按方案办理。", disagreements="无实质分歧。"
        ),
    )
    ballot = voting.create_ballot(
        session=session,
        access=chair_access,
        actor=chair,
        issue_id=issue_id,
        form=vote_schemas.BallotForm(title=title[:40], rule=RuleKind.CONSENSUS),
    )
    resolution = voting.record_consensus(
        session=session,
        access=chair_access,
        actor=chair,
        ballot_id=ballot.id or 0,
        form=vote_schemas.ConsensusForm(passed=True, text=f"议事会协商一致：{plan}。"),
    )
    assert resolution.publicity_ends_at is not None
    clock.freeze(resolution.publicity_ends_at + timedelta(hours=1))
    voting.end_publicity(session=session, access=chair_access, actor=chair, issue_id=issue_id)
    return issue_id
