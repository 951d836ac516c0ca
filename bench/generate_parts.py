#!/usr/bin/env python
"""Build the parts data set at scale in PostgreSQL (ARCHITECTURE habit 9, issue 6).

One dealer group, 5 stores, 200,000 parts (OEM-style numbers per make, OEM numbers, Chinese and English names
from category vocabularies, 1-3 aftermarket interchangeable numbers for a third of them), a stock item for every
part at every store (bins; a reorder rule for a fifth of them, some below their minimum) and 5,000,000 ledger rows
(receipts, issues, adjustments) whose running ``balance_after`` ends at each stock item's ``on_hand`` and whose
receipts give its moving-average cost.

Same loading approach as ``bench/generate.py`` (whose helpers it imports): ``migrate``, record the secondary
indexes and unique/foreign-key constraints of the loaded tables, drop them, stream the rows in with ``COPY``
(psycopg 3 ``cursor.copy``), recreate every one with the same name and definition, compare the whole schema with
the snapshot taken after ``migrate``, ``VACUUM (ANALYZE)``, and check the ledger invariants in SQL.

Ledger rows are loaded in time order (spooled into time buckets), so one stock item's movements are spread over
the table as in production, not stored next to each other.

    .venv/bin/python bench/generate_parts.py --reset              # full scale (~80 s here)
    .venv/bin/python bench/generate_parts.py --reset --scale 0.01 # quick run
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
from array import array
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import generate as base  # noqa: E402  (bench/generate.py: Copier, Spool, Phases, schema helpers)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/aftersales_parts_bench"
PARTS_TABLES = ["parts_supplier", "parts_part", "parts_partalias", "parts_stockitem", "parts_stockmovement"]

STORES = [
    ("gz-tianhe", "广州天河店", "广东省广州市天河区中山大道100号", 1.6),
    ("gz-baiyun", "广州白云店", "广东省广州市白云区机场路88号", 1.2),
    ("sz-futian", "深圳福田店", "广东省深圳市福田区深南大道2008号", 1.1),
    ("fs-shunde", "佛山顺德店", "广东省佛山市顺德区大良新城路12号", 0.8),
    ("dg-nancheng", "东莞南城店", "广东省东莞市南城街道鸿福路66号", 0.6),
]

# (make code, make zh, number style, [(model zh, model en)])
MAKES = [
    ("toyota", "丰田", "toyota", [("凯美瑞", "Camry"), ("卡罗拉", "Corolla"), ("汉兰达", "Highlander"),
                                  ("RAV4荣放", "RAV4"), ("雷凌", "Levin"), ("亚洲龙", "Avalon")]),
    ("honda", "本田", "honda", [("雅阁", "Accord"), ("思域", "Civic"), ("CR-V", "CR-V"), ("飞度", "Fit"),
                                ("皓影", "Breeze")]),
    ("vw", "大众", "vw", [("速腾", "Sagitar"), ("迈腾", "Magotan"), ("朗逸", "Lavida"), ("帕萨特", "Passat"),
                          ("途观L", "Tiguan L"), ("宝来", "Bora")]),
    ("nissan", "日产", "nissan", [("轩逸", "Sylphy"), ("天籁", "Teana"), ("奇骏", "X-Trail"), ("逍客", "Qashqai")]),
    ("bmw", "宝马", "bmw", [("3系", "3 Series"), ("5系", "5 Series"), ("X3", "X3"), ("X1", "X1")]),
    ("benz", "奔驰", "benz", [("C级", "C-Class"), ("E级", "E-Class"), ("GLC", "GLC")]),
    ("buick", "别克", "gm", [("君威", "Regal"), ("英朗", "Excelle GT"), ("昂科威", "Envision"), ("GL8", "GL8")]),
    ("ford", "福特", "ford", [("福克斯", "Focus"), ("蒙迪欧", "Mondeo"), ("锐界", "Edge")]),
    ("byd", "比亚迪", "byd", [("秦PLUS", "Qin PLUS"), ("宋PLUS", "Song PLUS"), ("汉", "Han"), ("海豚", "Dolphin")]),
    ("tesla", "特斯拉", "tesla", [("Model 3", "Model 3"), ("Model Y", "Model Y")]),
]  # fmt: skip
MAKE_WEIGHTS = [22, 14, 20, 10, 6, 5, 8, 5, 8, 2]
ENGINES = ["1.5L", "1.5T", "1.8L", "2.0L", "2.0T", "2.5L", "3.5L", "EV", "HEV"]
YEARS = ["2014-2017", "2016-2019", "2018-2022", "2019-2023", "2020-2024", "2022-"]

# category -> [(name zh, name en, unit, cost CNY low, high, lot (units per receipt), weight)]
VOCAB = {
    "oil": [("全合成机油 0W-20", "Full synthetic engine oil 0W-20", "litre", 45, 90, 200, 5),
            ("全合成机油 5W-30", "Full synthetic engine oil 5W-30", "litre", 40, 80, 200, 5),
            ("自动变速箱油 ATF", "Automatic transmission fluid ATF", "litre", 60, 120, 40, 2),
            ("刹车油 DOT4", "Brake fluid DOT4", "litre", 30, 70, 24, 2),
            ("发动机防冻液", "Engine coolant", "litre", 20, 50, 40, 2),
            ("玻璃水", "Screen wash", "litre", 5, 15, 60, 1)],
    "filter": [("机油滤清器", "Oil filter", "piece", 20, 90, 40, 6), ("空气滤清器", "Air filter", "piece", 40, 180, 20, 5),
               ("空调滤清器", "Cabin air filter", "piece", 30, 160, 20, 5), ("燃油滤清器", "Fuel filter", "piece", 60, 300, 10, 2),
               ("变速箱滤网", "Transmission filter", "piece", 120, 500, 4, 1)],
    "brake": [("前刹车片", "Front brake pads", "set", 180, 900, 8, 4), ("后刹车片", "Rear brake pads", "set", 150, 800, 8, 3),
              ("前刹车盘", "Front brake disc", "piece", 250, 1200, 4, 2), ("后刹车盘", "Rear brake disc", "piece", 200, 1000, 4, 2),
              ("刹车分泵", "Brake caliper", "piece", 400, 2500, 2, 1), ("ABS轮速传感器", "ABS wheel speed sensor", "piece", 150, 700, 2, 1),
              ("手刹拉线", "Parking brake cable", "piece", 80, 400, 2, 1)],
    "tyre": [("轮胎 205/55R16", "Tyre 205/55R16", "piece", 350, 800, 8, 2), ("轮胎 225/45R18", "Tyre 225/45R18", "piece", 600, 1500, 8, 2),
             ("轮胎 235/55R19", "Tyre 235/55R19", "piece", 800, 2000, 4, 1), ("气门嘴", "Tyre valve", "piece", 3, 15, 100, 1),
             ("轮毂螺栓", "Wheel bolt", "piece", 8, 40, 40, 1)],
    "battery": [("蓄电池 60Ah", "Battery 60Ah", "piece", 450, 900, 6, 2), ("蓄电池 70Ah AGM", "Battery 70Ah AGM", "piece", 900, 1800, 4, 1),
                ("12V辅助蓄电池", "12 V auxiliary battery", "piece", 500, 1200, 2, 1)],
    "electrical": [("火花塞", "Spark plug", "piece", 30, 150, 40, 4), ("点火线圈", "Ignition coil", "piece", 200, 700, 4, 2),
                   ("发电机", "Alternator", "piece", 1200, 4000, 1, 1), ("起动机", "Starter motor", "piece", 1000, 3500, 1, 1),
                   ("大灯灯泡 H7", "Headlamp bulb H7", "piece", 20, 120, 20, 2), ("车窗升降电机", "Window regulator motor", "piece", 300, 1200, 2, 1),
                   ("氧传感器", "Oxygen sensor", "piece", 300, 1200, 2, 1), ("保险丝 15A", "Fuse 15A", "piece", 1, 5, 100, 1),
                   ("雨刮电机", "Wiper motor", "piece", 300, 1000, 1, 1)],
    "engine": [("正时皮带", "Timing belt", "piece", 150, 600, 4, 2), ("水泵", "Water pump", "piece", 300, 1500, 2, 1),
               ("节温器", "Thermostat", "piece", 80, 400, 4, 1), ("气门室盖垫", "Valve cover gasket", "piece", 50, 300, 4, 1),
               ("发动机脚垫", "Engine mount", "piece", 200, 1200, 2, 1), ("多楔带", "Serpentine belt", "piece", 80, 350, 6, 2),
               ("放油螺丝垫片", "Drain plug washer", "piece", 1, 5, 200, 2)],
    "transmission": [("离合器片", "Clutch disc", "piece", 300, 1200, 2, 1), ("离合器压盘", "Clutch pressure plate", "piece", 400, 1500, 2, 1),
                     ("半轴总成", "Drive shaft assembly", "piece", 800, 3000, 1, 1), ("变速箱油封", "Transmission oil seal", "piece", 20, 120, 6, 1)],
    "suspension": [("前减震器", "Front shock absorber", "piece", 300, 1500, 4, 2), ("后减震器", "Rear shock absorber", "piece", 250, 1200, 4, 1),
                   ("稳定杆连杆", "Stabiliser link", "piece", 60, 300, 6, 2), ("下摆臂", "Lower control arm", "piece", 250, 1200, 2, 1),
                   ("转向拉杆球头", "Tie rod end", "piece", 80, 400, 4, 1), ("轮毂轴承", "Wheel bearing", "piece", 150, 800, 4, 1)],
    "aircon": [("空调压缩机", "A/C compressor", "piece", 1500, 5000, 1, 1), ("冷凝器", "Condenser", "piece", 500, 2000, 1, 1),
               ("膨胀阀", "Expansion valve", "piece", 150, 600, 2, 1), ("空调冷媒 R134a", "Refrigerant R134a", "kg", 60, 150, 20, 1),
               ("鼓风机", "Blower motor", "piece", 300, 1000, 2, 1)],
    "body": [("前保险杠", "Front bumper", "piece", 600, 3000, 1, 2), ("左前大灯总成", "Left headlamp assembly", "piece", 1500, 8000, 1, 1),
             ("右后视镜", "Right door mirror", "piece", 400, 2500, 1, 1), ("前挡风玻璃", "Windscreen", "piece", 800, 4000, 1, 1),
             ("发动机盖", "Bonnet", "piece", 1000, 5000, 1, 1), ("右前叶子板", "Right front wing", "piece", 400, 2000, 1, 1),
             ("卡扣", "Trim clip", "piece", 1, 8, 100, 2)],
    "ev": [("高压线束", "HV cable harness", "piece", 1500, 6000, 1, 1), ("充电口总成", "Charging port assembly", "piece", 1200, 4000, 1, 1),
           ("车载充电机", "On-board charger", "piece", 4000, 12000, 1, 1), ("电池冷却液", "Battery coolant", "litre", 40, 100, 20, 1),
           ("DC-DC转换器", "DC-DC converter", "piece", 2000, 6000, 1, 1)],
    "accessory": [("全包围脚垫", "Floor mats", "set", 200, 900, 4, 1), ("行车记录仪", "Dash camera", "piece", 300, 900, 4, 1),
                  ("后备箱垫", "Boot liner", "piece", 100, 400, 4, 1), ("雨刮片", "Wiper blade", "set", 60, 250, 10, 3)],
    "other": [("O型密封圈", "O-ring", "piece", 1, 10, 100, 1), ("螺栓 M8", "Bolt M8", "piece", 1, 6, 100, 1),
              ("冷却水管", "Coolant hose", "metre", 30, 120, 10, 1)],
}  # fmt: skip
CATEGORY_WEIGHTS = {"oil": 4, "filter": 10, "brake": 12, "tyre": 4, "battery": 2, "electrical": 14, "engine": 14,
                    "transmission": 6, "suspension": 10, "aircon": 5, "body": 14, "ev": 3, "accessory": 3, "other": 3}  # fmt: skip
# aftermarket brands: (brand shown, brand zh, number style)
AFTERMARKET = [("BOSCH", "博世", "bosch"), ("MANN-FILTER", "曼牌", "mann"), ("MAHLE", "马勒", "mahle"), ("NGK", "NGK", "ngk"),
               ("DENSO", "电装", "denso"), ("BREMBO", "布雷博", "brembo"), ("TRW", "天合", "trw"), ("VALEO", "法雷奥", "valeo"),
               ("FEBI", "斐比", "febi"), ("SACHS", "萨克斯", "sachs"), ("KYB", "KYB", "kyb"), ("VARTA", "瓦尔塔", "varta")]  # fmt: skip
SUPPLIERS = ["广州丰田配件中心", "佛山大众配件分销", "深圳博世汽车配件", "东莞曼牌滤清器代理", "广州本田纯正零件库",
             "华南宝马配件物流", "广州奔驰零件中心", "深圳比亚迪售后备件", "特斯拉服务备件", "广东NGK火花塞总代",
             "广州布雷博制动", "深圳天合底盘", "佛山电装空调配件", "广州法雷奥电气", "东莞萨克斯减震", "广州瓦尔塔电池",
             "华南轮胎批发", "广州车品汇", "深圳润滑油批发", "佛山钣金件供应"]  # fmt: skip
ADJUST_UP = ["盘点找到", "数量录错更正", "盘点差异"]
ADJUST_DOWN = ["损坏报废", "包装破损", "过期报废", "盘点差异"]
ALNUM = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def oem_number(style: str, rng: random.Random) -> str:
    d = lambda n: "".join(rng.choice("0123456789") for _ in range(n))  # noqa: E731
    a = lambda n: "".join(rng.choice(ALNUM) for _ in range(n))  # noqa: E731
    L = lambda n: "".join(rng.choice(LETTERS) for _ in range(n))  # noqa: E731
    if style == "toyota":
        return f"{d(5)}-{a(5)}"  # 90915-YZZD1, 04465-33450
    if style == "honda":
        return f"{d(5)}-{L(3)}-{d(3)}"  # 15400-RTA-003
    if style == "vw":
        return f"{d(1)}{a(2)}{d(6)}{L(1) if rng.random() < 0.7 else ''}"  # 06L115562B, 5Q0615301F
    if style == "nissan":
        return f"{d(5)}-{d(2)}{L(1)}{d(1)}{L(1)}"  # 15208-65F0E
    if style == "bmw":
        return d(11)  # 11428507683
    if style == "benz":
        return f"A{d(10)}"  # A2760160221
    if style == "gm":
        return d(8)  # 24108224
    if style == "ford":
        return f"{L(2)}{d(1)}{L(1)}-{d(4)}-{L(2)}"  # CV6Z-6731-FA
    if style == "byd":
        return f"{L(2)}{d(1)}-{d(7)}"  # SC2-3501110
    return f"{d(7)}-{d(2)}-{L(1)}"  # tesla 1044321-00-C


def aftermarket_number(style: str, rng: random.Random) -> str:
    d = lambda n: "".join(rng.choice("0123456789") for _ in range(n))  # noqa: E731
    L = lambda n: "".join(rng.choice(LETTERS) for _ in range(n))  # noqa: E731
    return {
        "bosch": lambda: f"0986{L(2)}{d(4)}", "mann": lambda: f"{rng.choice(['W', 'HU', 'C', 'CUK'])}{d(4)}{rng.choice(['', 'X', 'Z'])}",
        "mahle": lambda: f"{rng.choice(['OC', 'LX', 'LA', 'KL'])}{d(4)}", "ngk": lambda: f"{L(4)}{d(1)}{L(1)}{d(2)}",
        "denso": lambda: f"{L(2)}{d(2)}{L(2)}", "brembo": lambda: f"P{d(5)}", "trw": lambda: f"GDB{d(4)}",
        "valeo": lambda: d(6), "febi": lambda: d(5), "sachs": lambda: d(6), "kyb": lambda: d(6),
        "varta": lambda: f"5{d(8)}",  # 560408054
    }[style]()


def money4(units: int) -> str:
    """Ten-thousandths to text."""
    return f"{units // 10000}.{units % 10000:04d}"


def qty(h: int) -> str:
    """Hundredths to text (signed)."""
    if h < 0:
        return "-" + qty(-h)
    return f"{h // 100}.{h % 100:02d}"


class Buckets:
    """Ledger rows spooled per time bucket, then copied in bucket order (ids follow time, as in production)."""

    def __init__(self, n: int) -> None:
        tmp = os.environ.get("BENCH_TMP")
        self.files = [tempfile.TemporaryFile("w+", encoding="utf-8", dir=tmp) for _ in range(n)]  # noqa: SIM115
        self.bufs: list[list[str]] = [[] for _ in range(n)]
        self.count = 0

    def add(self, b: int, line: str) -> None:
        buf = self.bufs[b]
        buf.append(line)
        if len(buf) >= 4000:
            self.files[b].write("".join(buf))
            self.count += len(buf)
            buf.clear()

    def load(self, conn, table: str, columns: str) -> int:
        with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for f, buf in zip(self.files, self.bufs, strict=True):
                f.write("".join(buf))
                self.count += len(buf)
                buf.clear()
                f.seek(0)
                while chunk := f.read(1 << 20):
                    copy.write(chunk)
                f.close()
        return self.count


class W:
    def __init__(self, scale: float, seed: int) -> None:
        self.rng = random.Random(seed)
        self.n_parts = max(500, round(200_000 * scale))
        self.n_moves = max(10_000, round(5_000_000 * scale))
        self.group_id = 0
        self.store_ids: list[int] = []
        self.clerks: list[int] = []
        self.supplier_ids: list[int] = []


def make_org(w: W) -> str:
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from aftersales.staff.models import StoreMembership, User
    from aftersales.staff.roles import Role
    from aftersales.stores.models import DealerGroup, Store

    group = DealerGroup.objects.create(name="粤华汽车服务集团")
    w.group_id = group.pk
    stores = Store.objects.bulk_create(
        [Store(group=group, code=c, name=n, address=a, phone=f"020-8{i:03d}1234") for i, (c, n, a, _f) in enumerate(STORES)]
    )
    w.store_ids = [s.pk for s in stores]
    password = make_password("bench-password")
    roles = {g.name: g for g in Group.objects.all()}
    users, role_of, store_of = [], [], []
    for s in stores:
        for role, count in ((Role.STORE_MANAGER, 1), (Role.PARTS_CLERK, 2), (Role.SERVICE_ADVISOR, 4)):
            for k in range(count):
                users.append(User(username=f"{s.code}-{role}-{k + 1}", password=password, display_name=f"{s.name}{k + 1}",
                                  dealer_group=group))
                role_of.append(role)
                store_of.append([s])
    # bench_parts.py logs in as this parts clerk, who works at the first two stores
    users.append(User(username="bench-parts", password=password, display_name="基准配件员", dealer_group=group))
    role_of.append(Role.PARTS_CLERK)
    store_of.append(stores[:2])
    User.objects.bulk_create(users)
    through = User.groups.through
    through.objects.bulk_create([through(user_id=u.pk, group_id=roles[r].pk) for u, r in zip(users, role_of, strict=True)])
    StoreMembership.objects.bulk_create(
        [StoreMembership(user=u, store=s, is_primary=i == 0) for u, ss in zip(users, store_of, strict=True) for i, s in enumerate(ss)]
    )
    w.clerks = [next(u.pk for u, r, ss in zip(users, role_of, store_of, strict=True) if r == Role.PARTS_CLERK and ss == [s])
                for s in stores]
    return f"1 group, {len(stores)} stores, {len(users)} staff"


def gen_catalogue(w: W, conn) -> str:
    rng = w.rng
    rnd = rng.random
    sup = base.Copier(conn, "parts_supplier", "id,group_id,name,contact,phone,email,lead_time_days,is_active")
    for i, name in enumerate(SUPPLIERS, start=1):
        sup.add(f"{i}\t{w.group_id}\t{name}\t\t020-3{i:03d}5678\t\t{rng.choice((1, 2, 3, 5, 7, 14))}\tt\n")
    w.supplier_ids = list(range(1, len(SUPPLIERS) + 1))
    sup.close()
    conn.commit()
    cats = base.weighted_table(list(CATEGORY_WEIGHTS.items()), 1000)
    items = {c: base.weighted_table([(v, v[6]) for v in vs], 100) for c, vs in VOCAB.items()}
    makes = base.weighted_table(list(zip(MAKES, MAKE_WEIGHTS, strict=True)), 1000)
    n = w.n_parts
    # per part: unit hundredths multiple, base cost (1/10000 CNY), lot (hundredths), popularity
    w.p_step = array("i", [0]) * (n + 1)
    w.p_cost = array("q", [0]) * (n + 1)
    w.p_lot = array("i", [0]) * (n + 1)
    w.p_pop = array("d", [0.0]) * (n + 1)
    seen: set[str] = set()
    parts = base.Copier(conn, "parts_part", ",".join([
        "id", "group_id", "number", "oem_number", "name_zh", "name_en", "category", "unit", "is_oem", "cost_price",
        "sale_price", "tax_rate", "warranty_months", "warranty_km", "tracking", "default_supplier_id", "is_active",
    ]))  # fmt: skip
    aliases = base.Spool("parts_partalias", "part_id,number,brand,is_oem")
    n_alias = 0
    for pid in range(1, n + 1):
        cat = rng.choice(cats)
        zh, en, unit, lo, hi, lot, _w = rng.choice(items[cat])
        make = rng.choice(makes)
        _code, make_zh, style, models = make
        model_zh, model_en = rng.choice(models)
        variant = rng.choice(ENGINES) if cat in ("oil", "filter", "engine", "electrical", "transmission") else rng.choice(YEARS)
        oem = oem_number(style, rng)
        while oem in seen:
            oem = oem_number(style, rng)
        seen.add(oem)
        is_oem = rnd() >= 0.25
        number, name_zh, name_en = oem, f"{zh}（{make_zh}{model_zh} {variant}）", f"{en} ({model_en} {variant})"
        if not is_oem:  # an aftermarket part stocked under its own number, replacing the OEM one
            brand, brand_zh, astyle = rng.choice(AFTERMARKET)
            number = aftermarket_number(astyle, rng)
            while number in seen:  # every style has at least 100,000 numbers
                number = aftermarket_number(astyle, rng)
            seen.add(number)
            name_zh, name_en = f"{brand_zh} {name_zh}", f"{brand.title()} {name_en}"
        cost = int(lo * 100 + rnd() * (hi - lo) * 100)  # cents
        sale = int(cost * (1.3 + rnd() * 0.3))
        warranty = "12\t20000" if cat not in ("oil", "other", "accessory") else "\\N\t\\N"
        if cat == "battery":
            warranty = "24\t\\N"
        parts.add(
            f"{pid}\t{w.group_id}\t{number}\t{oem}\t{name_zh}\t{name_en}\t{cat}\t{unit}\t{'t' if is_oem else 'f'}\t"
            f"{base.money(cost)}\t{base.money(sale)}\t0.130\t{warranty}\tnone\t{rng.choice(w.supplier_ids)}\tt\n"
        )
        if rnd() < 1 / 3:  # 1-3 aftermarket equivalents
            brands = rng.sample(AFTERMARKET, rng.choice((1, 1, 2, 2, 3)))
            for brand, _bzh, astyle in brands:
                aliases.add(f"{pid}\t{aftermarket_number(astyle, rng)}\t{brand}\tf\n")
                n_alias += 1
        w.p_step[pid] = 100 if unit in ("piece", "set") else 50
        w.p_cost[pid] = cost * 100
        w.p_lot[pid] = max(100, lot * 100)
        cat_factor = {"oil": 6, "filter": 5, "brake": 3, "tyre": 2, "electrical": 1.5}.get(cat, 1)
        w.p_pop[pid] = min(rng.paretovariate(1.3), 60.0) * cat_factor * (1.0 if lot > 1 else 0.4)
    np = parts.close()
    conn.commit()
    na = aliases.load(conn)
    conn.commit()
    return f"{len(SUPPLIERS)} suppliers, {np} parts, {na} aliases"


def gen_stock(w: W, conn) -> str:
    """Stock items for every part x store, and the ledger rows that produce their on-hand and average cost."""
    rng = w.rng
    rnd = rng.random
    n, stores = w.n_parts, w.store_ids
    factors = [f for *_r, f in STORES]
    # how many movements each stock item gets: popularity x store size x noise; ~45 % never moved
    weights = array("d", [0.0]) * (n * len(stores))
    for pid in range(1, n + 1):
        pop = w.p_pop[pid]
        for si in range(len(stores)):
            k = (pid - 1) * len(stores) + si
            weights[k] = 0.0 if rnd() < 0.45 else pop * factors[si] * (0.3 + rnd() * 1.4)
    total_w = sum(weights)
    counts = array("i", [0]) * len(weights)
    target = w.n_moves
    for k, wt in enumerate(weights):
        if wt:
            x = wt * target / total_w
            c = int(x)
            counts[k] = max(1, c + (1 if rnd() < x - c else 0))
    diff = target - sum(counts)
    moved = [k for k, c in enumerate(counts) if c]
    while diff:
        k = rng.choice(moved)
        if diff > 0:
            counts[k] += 1
            diff -= 1
        elif counts[k] > 2:
            counts[k] -= 1
            diff += 1
    del weights

    now = int(time.time()) // 60 * 60 - 86400
    span = 730 * 86400
    t0 = now - span
    n_buckets = 120
    day0 = dt.datetime.fromtimestamp(t0, dt.UTC).date()
    day_str = [(day0 + dt.timedelta(days=i)).isoformat() for i in range(740)]
    bucket_of = span / n_buckets
    moves = Buckets(n_buckets)
    items = base.Spool("parts_stockitem", ",".join([
        "id", "store_id", "part_id", "bin_location", "on_hand", "reserved", "avg_cost", "min_qty", "max_qty",
        "lead_time_days", "last_movement_at",
    ]))  # fmt: skip
    n_rule = n_below = 0
    p_rule = 0.2 / (1 - 0.45)
    for pid in range(1, n + 1):
        step, cost0, lot = w.p_step[pid], w.p_cost[pid], w.p_lot[pid]
        zone = "ABCDEFGH"[pid % 8]
        for si, store in enumerate(stores):
            k = (pid - 1) * len(stores) + si
            item_id = k + 1
            c = counts[k]
            bal, avg, last = 0, 0, "\\N"
            clerk = w.clerks[si]
            if c:
                times = sorted(t0 + int(rnd() * span) for _ in range(c))
                issued = 0
                for t in times:
                    r = rnd()
                    if bal == 0 or (bal < lot * 0.3 and r < 0.6):
                        kind = "receipt"
                        q = max(step, int(lot * (0.5 + rnd()) / step) * step)
                        uc = int(cost0 * (0.92 + rnd() * 0.16)) // 100 * 100  # a cent price
                        avg = (bal * avg + q * uc + (bal + q) // 2) // (bal + q)  # rounded half up
                        cost, reason = uc, ""
                    elif r < 0.94:
                        kind = "issue"
                        if step == 50:  # litres / kg / metres: what one job uses
                            need = rng.choice((100, 350, 400, 450, 500)) if lot >= 4000 else rng.choice((50, 100, 150))
                        else:
                            need = 100 if lot <= 400 else rng.choice((100, 100, 200, 400))
                        q = -min(bal, need)
                        cost, reason = avg, ""
                        issued += 1
                    else:
                        kind = "adjustment"
                        q = step if (r < 0.97 or bal < step) else -step
                        cost, reason = avg, rng.choice(ADJUST_UP if q > 0 else ADJUST_DOWN)
                    bal += q
                    off = t - t0
                    d, s = divmod(off, 86400)
                    at = f"{day_str[d]} {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00"
                    moves.add(
                        int(off / bucket_of),
                        f"{store}\t{pid}\t{item_id}\t{kind}\t{qty(q)}\t{money4(cost)}\t{qty(bal)}\t{at}\t{clerk}\t{reason}\n",
                    )
                last = at
            mn = mx = 0
            if c and rnd() < (p_rule if bal else p_rule * 0.15):
                n_rule += 1
                if bal == 0 or rnd() < 0.05:
                    mn = max(step, (bal + lot // 2) // step * step)
                    n_below += mn > bal
                else:
                    mn = int(bal * (0.2 + rnd() * 0.6)) // step * step
                mx = max(mn, lot, mn * 2)
            lead = "\\N" if not mn else str(rng.choice((2, 3, 5, 7)))
            bin_loc = f"{zone}{pid % 40 + 1:02d}-{pid % 7 + 1:02d}-{pid % 4 + 1}"
            items.add(
                f"{item_id}\t{store}\t{pid}\t{bin_loc}\t{qty(bal)}\t0.00\t{money4(avg)}\t{qty(mn)}\t{qty(mx)}\t"
                f"{lead}\t{last}\n"
            )
    ni = items.load(conn)
    conn.commit()
    t = time.perf_counter()
    nm = moves.load(conn, "parts_stockmovement", "store_id,part_id,stock_item_id,kind,quantity,unit_cost,balance_after,at,actor_id,reason")
    conn.commit()
    base.log(f"     ledger rows copied in {time.perf_counter() - t:.1f} s")
    return f"{ni} stock items ({n_rule} with a reorder rule, {n_below} below minimum), {nm} ledger rows"


def check_ledger(conn) -> str:
    bad_sum = conn.execute(
        """
        SELECT count(*) FROM parts_stockitem i
        LEFT JOIN (SELECT stock_item_id, sum(quantity) AS total FROM parts_stockmovement GROUP BY 1) m
               ON m.stock_item_id = i.id
        WHERE i.on_hand <> COALESCE(m.total, 0) OR i.on_hand < 0
        """
    ).fetchone()[0]
    bad_last = conn.execute(
        """
        SELECT count(*) FROM parts_stockitem i
        JOIN LATERAL (SELECT balance_after FROM parts_stockmovement m WHERE m.stock_item_id = i.id
                      ORDER BY m.at DESC, m.id DESC LIMIT 1) l ON true
        WHERE l.balance_after <> i.on_hand
        """
    ).fetchone()[0]
    negative = conn.execute("SELECT count(*) FROM parts_stockmovement WHERE balance_after < 0").fetchone()[0]
    if bad_sum or bad_last or negative:
        sys.exit(f"ledger inconsistent: {bad_sum} sums, {bad_last} last balances, {negative} negative balances")
    return "on_hand = sum(quantity) = last balance_after >= 0 for every stock item"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--reset", action="store_true", help="drop and recreate the database first")
    parser.add_argument("--database-url", default=os.environ.get("PARTS_BENCH_URL", DEFAULT_URL))
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings")
    os.environ.setdefault("AFTERSALES_DATA_DIR", str(ROOT / "bench" / "data"))
    os.environ.setdefault("AFTERSALES_LOG_LEVEL", "WARNING")

    import django
    import psycopg

    base.LOADED_TABLES = PARTS_TABLES  # the schema helpers of generate.py work on these tables
    phases = base.Phases()
    base.log(f"aftersales parts bench generator: scale={args.scale} db={args.database_url}")
    if args.reset:
        phases.run("reset database", base.recreate_database, args.database_url)
    django.setup()
    phases.run("migrate", base.migrate)
    w = W(args.scale, args.seed)
    conn = psycopg.connect(args.database_url)
    base.session_settings(conn)
    if conn.execute("SELECT EXISTS (SELECT 1 FROM parts_part)").fetchone()[0]:
        sys.exit("the database already holds parts: run with --reset")
    before = base.all_schema_objects(conn)
    snapshot = base.schema_snapshot(conn)
    phases.run("drop secondary indexes/constraints", base.drop_for_load, conn, snapshot)
    phases.run("stores, staff", make_org, w)
    phases.run("suppliers, parts, aliases", gen_catalogue, w, conn)
    phases.run("stock items, ledger", gen_stock, w, conn)
    phases.run("sequences", base.reset_sequences, conn)
    phases.run("recreate indexes", base.recreate_indexes, conn, snapshot)
    phases.run("recreate unique + FK constraints", base.recreate_constraints, conn, snapshot)
    conn.autocommit = True
    phases.run("vacuum analyze", lambda: conn.execute("VACUUM (ANALYZE)") and "done")
    after = base.all_schema_objects(conn)
    if before != after:
        sys.exit(f"schema differs from what migrate made!\nmissing: {sorted(set(before) - set(after))}\n"
                 f"added: {sorted(set(after) - set(before))}")
    base.log(f"schema check: all {len(after)} indexes and constraints identical to the migrated schema")
    phases.run("check ledger invariants", check_ledger, conn)
    for name in PARTS_TABLES:
        base.log(f"   {name:<32} {conn.execute(f'SELECT count(*) FROM {name}').fetchone()[0]:>12,}")
    base.log("database size: " + conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0])
    phases.report()


if __name__ == "__main__":
    main()
