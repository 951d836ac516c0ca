#!/usr/bin/env python
"""Build a realistic after-sales data set at scale in PostgreSQL (ARCHITECTURE habit 9).

One dealer group, 20 stores, ~400 staff, 1,000,000 customers, 1,200,000 vehicles with ownership history,
~1.5M repair orders with jobs, 10,000,000 repair lines, invoices for delivered/closed orders, a mileage reading
per visit, consents and a creation audit event per customer.

How it loads: ``migrate`` creates the schema exactly as the app defines it; then, for the tables loaded here,
the secondary indexes, unique and foreign-key constraints are recorded (``pg_get_indexdef`` /
``pg_get_constraintdef``), dropped, the rows streamed in with ``COPY ... FROM STDIN`` (psycopg 3
``cursor.copy``), and every index and constraint recreated *with the same name and definition*, so the schema
ends identical to what ``migrate`` made (checked at the end) and ``migrate`` stays consistent. Then ANALYZE.

One Python process generates rows while one PostgreSQL backend ingests them (2 processes).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aftersales_bench \
        .venv/bin/python bench/generate.py --reset            # full scale
    .venv/bin/python bench/generate.py --reset --scale 0.01   # quick run
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
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/aftersales_bench"

# --------------------------------------------------------------------------------------------------------
# Reference data
# --------------------------------------------------------------------------------------------------------
# Common surnames with rough relative frequencies (per 1000), plus a few compound surnames.
SURNAMES = [
    ("王", 72), ("李", 72), ("张", 68), ("刘", 54), ("陈", 46), ("杨", 32), ("黄", 24), ("赵", 23), ("吴", 21),
    ("周", 21), ("徐", 17), ("孙", 16), ("马", 16), ("朱", 14), ("胡", 13), ("郭", 12), ("何", 12), ("高", 11),
    ("林", 11), ("罗", 10), ("郑", 10), ("梁", 9), ("谢", 8), ("宋", 8), ("唐", 8), ("许", 7), ("韩", 7),
    ("冯", 7), ("邓", 7), ("曹", 7), ("彭", 6), ("曾", 6), ("肖", 6), ("田", 6), ("董", 5), ("袁", 5),
    ("潘", 5), ("于", 5), ("蒋", 5), ("蔡", 5), ("余", 5), ("杜", 5), ("叶", 5), ("程", 5), ("苏", 4),
    ("魏", 4), ("吕", 4), ("丁", 4), ("任", 4), ("沈", 4), ("姚", 4), ("卢", 4), ("姜", 4), ("崔", 4),
    ("钟", 4), ("谭", 3), ("陆", 3), ("汪", 3), ("范", 3), ("金", 3), ("石", 3), ("廖", 3), ("贾", 3),
    ("夏", 3), ("韦", 3), ("付", 3), ("方", 3), ("白", 3), ("邹", 3), ("孟", 3), ("熊", 3), ("秦", 3),
    ("邱", 3), ("江", 3), ("尹", 3), ("薛", 2), ("闫", 2), ("段", 2), ("雷", 2), ("侯", 2), ("龙", 2),
    ("史", 2), ("陶", 2), ("黎", 2), ("贺", 2), ("顾", 2), ("毛", 2), ("郝", 2), ("龚", 2), ("邵", 2),
    ("万", 2), ("钱", 2), ("严", 2), ("覃", 2), ("武", 2), ("戴", 2), ("莫", 2), ("孔", 2), ("向", 2),
    ("欧阳", 1), ("司马", 1), ("诸葛", 1), ("上官", 1),
]  # fmt: skip
GIVEN_MALE = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林欣建国文志海东峰晨阳博"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀燕玲桂丹萍红琳雪慧婷莉颖倩蓉琴梅洁晶璐佳悦欣怡思彤雨萱嘉"
GIVEN_ANY = "子梓一家俊晓小天永春秋金玉德成新世德兴宏嘉晓"
MOBILE_PREFIXES = [
    130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157, 158, 159,
    166, 173, 175, 176, 177, 178, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 191, 198, 199,
]  # fmt: skip
CITIES = [
    ("广州市", "A", ["天河区", "越秀区", "海珠区", "白云区", "番禺区", "黄埔区"]),
    ("深圳市", "B", ["福田区", "南山区", "罗湖区", "宝安区", "龙岗区", "龙华区"]),
    ("珠海市", "C", ["香洲区", "金湾区", "斗门区"]),
    ("佛山市", "E", ["禅城区", "南海区", "顺德区"]),
    ("东莞市", "S", ["南城街道", "东城街道", "松山湖"]),
    ("惠州市", "L", ["惠城区", "惠阳区"]),
    ("中山市", "T", ["石岐街道", "东区街道"]),
    ("江门市", "J", ["蓬江区", "江海区"]),
]
STREETS = ["中山路", "建设路", "人民路", "解放路", "滨江路", "科技园路", "新华路", "东风路", "迎宾大道", "花园街"]
# Other provinces' plates seen at a Guangdong group (province, city letters)
OTHER_PROVINCES = "湘赣桂闽川鄂豫琼京沪浙苏"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
DIGITS = "0123456789"

# (WMI, make, [models], EV share)
MAKES = [
    ("LFV", "一汽-大众", ["速腾", "迈腾", "宝来", "探岳", "ID.4 CROZZ"], 0.05),
    ("LSV", "上汽大众", ["朗逸", "帕萨特", "途观L", "ID.3", "凌渡"], 0.05),
    ("LVG", "广汽丰田", ["凯美瑞", "汉兰达", "雷凌", "威兰达", "bZ4X"], 0.08),
    ("LHG", "广汽本田", ["雅阁", "飞度", "皓影", "冠道", "型格"], 0.05),
    ("LGB", "东风日产", ["轩逸", "天籁", "奇骏", "逍客"], 0.0),
    ("LSG", "上汽通用别克", ["君威", "英朗", "昂科威", "GL8"], 0.02),
    ("LBV", "华晨宝马", ["3系", "5系", "X1", "X3", "iX3"], 0.08),
    ("LE4", "北京奔驰", ["C级", "E级", "GLC", "EQC"], 0.05),
    ("LGX", "比亚迪", ["秦PLUS", "宋PLUS", "汉", "海豚", "元PLUS"], 0.85),
    ("LRW", "特斯拉", ["Model 3", "Model Y"], 1.0),
    ("LFM", "一汽丰田", ["卡罗拉", "RAV4荣放", "亚洲龙"], 0.03),
    ("LVS", "长安福特", ["福克斯", "蒙迪欧", "锐界"], 0.0),
]
COLOURS = ["白色", "黑色", "银色", "灰色", "蓝色", "红色", "棕色", "绿色"]
INSURERS = ["中国人保", "平安保险", "太平洋保险", "国寿财险", "大地保险", "阳光保险"]
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
YEAR_CODES = {2012: "C", 2013: "D", 2014: "E", 2015: "F", 2016: "G", 2017: "H", 2018: "J", 2019: "K",
              2020: "L", 2021: "M", 2022: "N", 2023: "P", 2024: "R", 2025: "S", 2026: "T"}  # fmt: skip

COMPLAINTS = [
    "常规保养", "做保养，检查刹车", "发动机故障灯亮", "空调不制冷", "刹车有异响", "方向盘抖动", "更换轮胎",
    "车辆年检前检查", "电瓶亏电无法启动", "底盘异响", "钣金喷漆（右前门刮伤）", "雨刮器不工作", "首保",
    "变速箱换挡顿挫", "充电故障（新能源）", "车窗升降异常", "四轮定位", "油耗偏高", "", "",
]  # fmt: skip
# job type -> [(title, cause, correction)]
JOBS = {
    "maintenance": [("定期保养", "", "更换机油机滤，常规检查"), ("大保养", "", "更换机油、三滤、火花塞"),
                    ("首次保养", "", "免费首保检查")],
    "repair": [("刹车系统维修", "前刹车片磨损到极限", "更换前刹车片"), ("空调系统维修", "冷媒不足", "加注冷媒，检漏"),
               ("发动机故障诊断", "点火线圈故障", "更换点火线圈"), ("底盘维修", "稳定杆连杆球头松旷", "更换稳定杆连杆"),
               ("电气维修", "蓄电池老化", "更换蓄电池"), ("钣金喷漆", "右前门刮伤", "钣金修复并喷漆")],
    "inspection": [("安全检查", "", "全车检查，无异常"), ("四轮定位", "前束偏差", "调整四轮定位")],
    "warranty": [("保修索赔", "车窗电机故障", "保修更换车窗电机"), ("召回活动", "厂家召回", "按召回方案处理")],
    "other": [("洗车美容", "", "精洗"), ("加装配件", "", "加装行车记录仪")],
}  # fmt: skip
JOB_TYPE_WEIGHTS = [("maintenance", 45), ("repair", 35), ("inspection", 10), ("warranty", 5), ("other", 5)]
# (kind, code, description, quantity in hundredths, unit price in cents)
CATALOG = {
    "maintenance": [
        ("labour", "L-MAINT", "保养工时", 100, 18000), ("labour", "L-MAINT", "保养工时", 150, 18000),
        ("part", "P-OIL-5W30", "全合成机油 5W-30 1L", 400, 9800), ("part", "P-OIL-0W20", "全合成机油 0W-20 1L", 450, 11800),
        ("part", "P-FLT-OIL", "机油滤清器", 100, 6800), ("part", "P-FLT-AIR", "空气滤清器", 100, 12800),
        ("part", "P-FLT-CAB", "空调滤清器", 100, 9800), ("part", "P-PLUG", "火花塞", 400, 8500),
        ("part", "P-WASH", "放油螺丝垫片", 100, 500), ("part", "P-WIPER", "雨刮片（对）", 100, 16800),
        ("fee", "F-ENV", "环保处理费", 100, 2000), ("part", "P-BRK-FLUID", "刹车油 DOT4 1L", 100, 8800),
    ],
    "repair": [
        ("labour", "L-DIAG", "故障诊断", 50, 20000), ("labour", "L-REP", "维修工时", 100, 20000),
        ("labour", "L-REP", "维修工时", 250, 20000), ("part", "P-BRK-PAD-F", "前刹车片", 100, 58000),
        ("part", "P-BRK-DISC-F", "前刹车盘", 200, 68000), ("part", "P-COIL", "点火线圈", 100, 42000),
        ("part", "P-BATT", "蓄电池 60Ah", 100, 88000), ("part", "P-REFR", "空调冷媒 R134a", 50, 30000),
        ("part", "P-LINK", "稳定杆连杆", 200, 26000), ("part", "P-PAINT", "油漆材料", 100, 90000),
        ("labour", "L-BODY", "钣金工时", 300, 15000), ("fee", "F-TEST", "检测费", 100, 10000),
    ],
    "inspection": [
        ("labour", "L-INSP", "安全检查", 100, 0), ("labour", "L-ALIGN", "四轮定位", 100, 19800),
        ("fee", "F-TEST", "检测费", 100, 10000), ("part", "P-VALVE", "气门嘴", 400, 1500),
    ],
    "warranty": [
        ("labour", "L-WTY", "保修工时", 100, 0), ("part", "P-WIN-MOTOR", "车窗电机（保修）", 100, 0),
        ("part", "P-RECALL", "召回零件", 100, 0),
    ],
    "other": [
        ("labour", "L-WASH", "精洗", 100, 8800), ("part", "P-DASHCAM", "行车记录仪", 100, 59900),
        ("labour", "L-FIT", "加装工时", 100, 15000),
    ],
}  # fmt: skip
STORE_NAMES = [
    ("gz-tianhe", "广州天河店", 0), ("gz-baiyun", "广州白云店", 0), ("gz-panyu", "广州番禺店", 0),
    ("gz-huangpu", "广州黄埔店", 0), ("sz-futian", "深圳福田店", 1), ("sz-nanshan", "深圳南山店", 1),
    ("sz-baoan", "深圳宝安店", 1), ("sz-longgang", "深圳龙岗店", 1), ("sz-longhua", "深圳龙华店", 1),
    ("zh-xiangzhou", "珠海香洲店", 2), ("fs-chancheng", "佛山禅城店", 3), ("fs-shunde", "佛山顺德店", 3),
    ("fs-nanhai", "佛山南海店", 3), ("dg-nancheng", "东莞南城店", 4), ("dg-songshan", "东莞松山湖店", 4),
    ("hz-huicheng", "惠州惠城店", 5), ("zs-shiqi", "中山石岐店", 6), ("jm-pengjiang", "江门蓬江店", 7),
    ("gz-yuexiu", "广州越秀店", 0), ("sz-luohu", "深圳罗湖店", 1),
]  # fmt: skip

# Tables loaded with COPY: their secondary indexes and unique/FK constraints are dropped during the load and
# recreated afterwards with identical names and definitions.
LOADED_TABLES = [
    "customers_customer", "customers_customerstore", "customers_consent", "vehicles_vehicle",
    "vehicles_vehicleownership", "vehicles_mileagereading", "workshop_repairorder", "workshop_repairjob",
    "workshop_repairline", "billing_invoice", "common_auditevent",
]  # fmt: skip

EPOCH = dt.date(2000, 1, 1)


def log(msg: str) -> None:
    print(msg, flush=True)


class Phases:
    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.rows: list[tuple[str, float, str]] = []

    def run(self, name: str, fn, *a, **kw):
        log(f"-> {name} ...")
        t = time.perf_counter()
        result = fn(*a, **kw)
        elapsed = time.perf_counter() - t
        extra = result if isinstance(result, str) else ""
        self.rows.append((name, elapsed, extra))
        log(f"   {name}: {elapsed:7.1f} s {extra}")
        return result

    def report(self) -> None:
        total = time.perf_counter() - self.t0
        log("\nPhase timings")
        log(f"{'phase':<44} {'seconds':>9}  rows")
        for name, secs, extra in self.rows:
            log(f"{name:<44} {secs:9.1f}  {extra}")
        log(f"{'TOTAL':<44} {total:9.1f}  ({total / 60:.1f} min)")


class Copier:
    """Stream tab-separated rows into one table through COPY (psycopg 3 ``cursor.copy``)."""

    def __init__(self, conn, table: str, columns: str, batch: int = 20000) -> None:
        self.cur = conn.cursor()
        self._cm = self.cur.copy(f"COPY {table} ({columns}) FROM STDIN")
        self.copy = self._cm.__enter__()
        self.buf: list[str] = []
        self.batch = batch
        self.count = 0

    def add(self, line: str) -> None:
        self.buf.append(line)
        if len(self.buf) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if self.buf:
            self.copy.write("".join(self.buf))
            self.count += len(self.buf)
            self.buf.clear()

    def close(self) -> int:
        self.flush()
        self._cm.__exit__(None, None, None)
        self.cur.close()
        return self.count


class Spool:
    """Rows for a table that is generated at the same time as another one; copied in afterwards."""

    def __init__(self, table: str, columns: str) -> None:
        self.table, self.columns = table, columns
        self.file = tempfile.TemporaryFile("w+", encoding="utf-8", dir=os.environ.get("BENCH_TMP"))  # noqa: SIM115
        self.buf: list[str] = []
        self.count = 0

    def add(self, line: str) -> None:
        self.buf.append(line)
        if len(self.buf) >= 20000:
            self.file.write("".join(self.buf))
            self.count += len(self.buf)
            self.buf.clear()

    def load(self, conn) -> int:
        self.file.write("".join(self.buf))
        self.count += len(self.buf)
        self.buf.clear()
        self.file.seek(0)
        with conn.cursor() as cur, cur.copy(f"COPY {self.table} ({self.columns}) FROM STDIN") as copy:
            while chunk := self.file.read(1 << 20):
                copy.write(chunk)
        self.file.close()
        return self.count


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def weighted_table(pairs, size: int = 10000) -> list:
    """A list to random.choice() from that reproduces the weights (fast sampling)."""
    total = sum(w for _v, w in pairs)
    out: list = []
    for value, weight in pairs:
        out += [value] * max(1, round(size * weight / total))
    return out


# --------------------------------------------------------------------------------------------------------
# Database set-up
# --------------------------------------------------------------------------------------------------------
def recreate_database(url: str) -> str:
    import psycopg

    parts = urlsplit(url)
    dbname = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        conn.execute(f"CREATE DATABASE \"{dbname}\" ENCODING 'UTF8' TEMPLATE template0")
    return f"dropped and created {dbname}"


def migrate() -> str:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return "schema migrated, roles synced"


def schema_snapshot(conn) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str, str]]]:
    """(table, index name, indexdef) for indexes not backing a constraint; (table, name, type, def) for
    unique and foreign-key constraints of the loaded tables."""
    indexes = conn.execute(
        """
        SELECT c.relname, i.relname, pg_get_indexdef(x.indexrelid)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
        WHERE c.relname = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
        ORDER BY 1, 2
        """,
        [LOADED_TABLES],
    ).fetchall()
    constraints = conn.execute(
        """
        SELECT c.relname, k.conname, k.contype::text, pg_get_constraintdef(k.oid)
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
        WHERE c.relname = ANY(%s) AND k.contype IN ('u', 'f')
        ORDER BY 1, 2
        """,
        [LOADED_TABLES],
    ).fetchall()
    return indexes, constraints


def all_schema_objects(conn) -> list[tuple]:
    """Every index and constraint of the public schema (names and definitions), to compare before/after."""
    rows = conn.execute(
        """
        SELECT 'index', c.relname, i.relname, pg_get_indexdef(x.indexrelid)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
        UNION ALL
        SELECT 'constraint', c.relname, k.conname, pg_get_constraintdef(k.oid) || ' valid=' || k.convalidated
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
        """
    ).fetchall()
    return sorted(rows)


def drop_for_load(conn, snapshot) -> str:
    indexes, constraints = snapshot
    # foreign keys first (also those of other tables pointing at a unique constraint we drop: none here)
    for table, name, _kind, _definition in sorted(constraints, key=lambda r: r[2] != "f"):
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for _table, name, _definition in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    conn.commit()
    return f"dropped {len(indexes)} indexes, {len(constraints)} constraints"


def session_settings(conn) -> None:
    conn.execute("SET synchronous_commit = off")
    conn.execute("SET maintenance_work_mem = '1GB'")
    conn.execute("SET work_mem = '256MB'")
    conn.execute("SET max_parallel_maintenance_workers = 1")  # leader + 1 worker: 2 processes
    conn.execute("SET max_parallel_workers_per_gather = 1")
    conn.commit()


def recreate_indexes(conn, snapshot) -> str:
    indexes, _constraints = snapshot
    for _table, name, definition in indexes:
        t = time.perf_counter()
        conn.execute(definition)
        conn.commit()
        log(f"     index {name:<52} {time.perf_counter() - t:6.1f} s")
    return f"{len(indexes)} indexes"


def recreate_constraints(conn, snapshot) -> str:
    _indexes, constraints = snapshot
    for table, name, kind, definition in sorted(constraints, key=lambda r: r[2] == "f"):
        t = time.perf_counter()
        conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        conn.commit()
        log(f"     {'fk ' if kind == 'f' else 'unq'} {name:<52} {time.perf_counter() - t:6.1f} s")
    return f"{len(constraints)} constraints"


def reset_sequences(conn) -> str:
    rows = conn.execute(
        """
        SELECT c.relname, a.attname, pg_get_serial_sequence(c.relname, a.attname)
        FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
          AND pg_get_serial_sequence(c.relname, a.attname) IS NOT NULL
        """
    ).fetchall()
    for table, column, seq in rows:
        conn.execute(f"SELECT setval('{seq}', COALESCE((SELECT max({column}) FROM {table}), 0) + 1, false)")
    conn.commit()
    return f"{len(rows)} sequences"


# --------------------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------------------
class World:
    """Everything generated so far that later phases refer to (ids, arrays)."""

    def __init__(self, scale: float, seed: int) -> None:
        self.scale = scale
        self.rng = random.Random(seed)
        self.n_customers = max(200, round(1_000_000 * scale))
        self.n_vehicles = max(240, round(1_200_000 * scale))
        self.n_lines = max(2000, round(10_000_000 * scale))
        self.today = dt.date.today()
        self.start = self.today - dt.timedelta(days=3 * 365)
        self.today_day = (self.today - EPOCH).days
        self.start_day = (self.start - EPOCH).days
        # date strings for day numbers from 2008 on
        self.day0 = (dt.date(2008, 1, 1) - EPOCH).days
        self.day_str = [
            (EPOCH + dt.timedelta(days=d)).isoformat() for d in range(self.day0, self.today_day + 1500)
        ]
        self.group_id = 0
        self.store_ids: list[int] = []
        self.store_codes: dict[int, str] = {}
        self.store_city: dict[int, int] = {}
        self.advisors: dict[int, list[int]] = {}
        self.technicians: dict[int, list[int]] = {}

    def ds(self, day: int) -> str:
        return self.day_str[day - self.day0]


def make_org(w: World) -> str:
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from aftersales.staff.models import StoreMembership, User
    from aftersales.staff.roles import Role
    from aftersales.stores.models import DealerGroup, OpeningPeriod, Store

    rng = w.rng
    group = DealerGroup.objects.create(name="粤华汽车服务集团")
    w.group_id = group.pk
    n_stores = 20
    stores = []
    for i, (code, name, city) in enumerate(STORE_NAMES[:n_stores]):
        city_name, _letter, districts = CITIES[city]
        stores.append(Store(
            group=group, code=code, name=name, phone=f"020-{8000_0000 + i * 137:08d}",
            address=f"广东省{city_name}{districts[i % len(districts)]}{STREETS[i % len(STREETS)]}{100 + i}号",
        ))
    Store.objects.bulk_create(stores)
    periods = []
    for s in stores:
        w.store_ids.append(s.pk)
        w.store_codes[s.pk] = s.code
        w.store_city[s.pk] = next(c for code, _n, c in STORE_NAMES if code == s.code)
        for wd in range(7):
            periods.append(OpeningPeriod(store=s, weekday=wd, opens=dt.time(8, 30), closes=dt.time(18, 0)))
    OpeningPeriod.objects.bulk_create(periods)

    password = make_password("bench-password")  # one hash for all (PBKDF2 per user would take minutes)
    roles = {g.name: g for g in Group.objects.all()}
    users, role_of, store_of = [], [], []
    per_store = [(Role.STORE_MANAGER, 1), (Role.SERVICE_ADVISOR, 6), (Role.TECHNICIAN, 10), (Role.FOREMAN, 1),
                 (Role.CASHIER, 1), (Role.PARTS_CLERK, 1)]  # fmt: skip
    surnames = [s for s, _w in SURNAMES]
    for s in stores:
        for role, count in per_store:
            for k in range(count):
                given = rng.choice(GIVEN_MALE) + rng.choice(GIVEN_MALE + GIVEN_FEMALE)
                name = rng.choice(surnames[:40]) + given
                users.append(User(
                    username=f"{s.code}-{role}-{k + 1}", password=password, display_name=name,
                    dealer_group=group, phone=f"+86{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}",
                    skills=rng.sample(["engine", "electrical", "body", "ev", "maintenance"], 2)
                    if role == Role.TECHNICIAN else [],
                ))
                role_of.append(role)
                store_of.append(s)
    # bench users (bench/bench_search_360.py logs in as these)
    users.append(User(username="bench-advisor", password=password, display_name="基准顾问", dealer_group=group))
    role_of.append(Role.SERVICE_ADVISOR)
    store_of.append(None)
    users.append(User(username="bench-admin", password=password, display_name="基准管理员", dealer_group=group))
    role_of.append(Role.GROUP_ADMIN)
    store_of.append(None)
    User.objects.bulk_create(users)
    memberships, user_groups = [], []
    through = User.groups.through
    for u, role, s in zip(users, role_of, store_of, strict=True):
        user_groups.append(through(user_id=u.pk, group_id=roles[role].pk))
        if s is not None:
            memberships.append(StoreMembership(user=u, store=s, is_primary=True))
            if role == Role.SERVICE_ADVISOR:
                w.advisors.setdefault(s.pk, []).append(u.pk)
            elif role in (Role.TECHNICIAN, Role.FOREMAN):
                w.technicians.setdefault(s.pk, []).append(u.pk)
    advisor = users[-2]
    for i, s in enumerate(stores[:3]):  # the bench advisor works at three stores
        memberships.append(StoreMembership(user=advisor, store=s, is_primary=i == 0))
    StoreMembership.objects.bulk_create(memberships)
    through.objects.bulk_create(user_groups)
    return f"1 group, {len(stores)} stores, {len(users)} staff"


def gen_customers(w: World, conn) -> str:
    rng = w.rng
    n = w.n_customers
    rnd = rng.random
    surname_table = weighted_table(SURNAMES, 20000)
    suffixes = rng.sample(range(10**8), n)  # unique 8-digit subscriber parts -> unique mobiles
    stores = w.store_ids
    # stores weighted: bigger cities get more customers
    store_table = weighted_table([(s, 3 if w.store_city[s] in (0, 1) else 2) for s in stores], 1000)
    w.cust_home = array("i", [0]) * (n + 1)
    w.cust_second = array("i", [0]) * (n + 1)
    w.cust_created = array("i", [0]) * (n + 1)
    created_lo = w.start_day - 2 * 365
    created_span = w.today_day - 20 - created_lo
    ct_customer = conn.execute(  # before COPY starts: the connection is busy while a COPY is open
        "SELECT id FROM django_content_type WHERE app_label='customers' AND model='customer'"
    ).fetchone()[0]
    cust = Copier(conn, "customers_customer", ",".join([
        "id", "group_id", "name", "title", "mobile", "mobile_digits", "email", "address", "birthday",
        "preferred_channel", "preferred_advisor_id", "home_store_id", "preferences", "notes", "points_balance",
        "anonymised_at", "created_at", "updated_at", "language", "wechat_openid", "reminder_frequency", "progress_frequency",
    ]))  # fmt: skip
    links = Spool("customers_customerstore", "customer_id,store_id,since")
    consents = Spool("customers_consent", "customer_id,purpose,channel,granted,at,source,recorded_by_id,note")
    audit = Spool("common_auditevent",
                  "at,actor_id,action,content_type_id,object_id,object_repr,store_id,customer_id,changes,reason")
    channels = ["sms"] * 6 + ["wechat"] * 3 + ["phone"]
    prefs = ["", "", "", "", "喝绿茶", "在休息室等候", "需要代步车", "只接受电话联系", "周末来店"]
    group = w.group_id
    for cid in range(1, n + 1):
        male = rnd() < 0.62
        pool = GIVEN_MALE if male else GIVEN_FEMALE
        r = rnd()
        given = rng.choice(pool) if r < 0.28 else rng.choice(pool if r < 0.8 else GIVEN_ANY) + rng.choice(pool)
        name = rng.choice(surname_table) + given
        title = ("mr" if male else "ms") if rnd() < 0.9 else ""
        digits = f"{rng.choice(MOBILE_PREFIXES)}{suffixes[cid - 1]:08d}"
        home = rng.choice(store_table)
        w.cust_home[cid] = home
        if rnd() < 0.25:
            second = rng.choice(stores)
            w.cust_second[cid] = second if second != home else 0
        created = created_lo + int(created_span * rnd() ** 0.8)
        w.cust_created[cid] = created
        city_name, _l, districts = CITIES[w.store_city[home]]
        address = (f"广东省{city_name}{rng.choice(districts)}{rng.choice(STREETS)}{rng.randrange(1, 999)}号"
                   if rnd() < 0.7 else "")
        email = f"{digits}@{rng.choice(['qq.com', '163.com', '126.com'])}" if rnd() < 0.3 else ""
        birthday = f"{rng.randrange(1955, 2004)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}" \
            if rnd() < 0.6 else "\\N"
        advisor = rng.choice(w.advisors[home]) if rnd() < 0.5 else "\\N"
        ts = f"{w.ds(created)} {rng.randrange(8, 19):02d}:{rng.randrange(60):02d}:00+08"
        cust.add(
            f"{cid}\t{group}\t{name}\t{title}\t+86{digits}\t{digits}\t{email}\t{address}\t{birthday}\t"
            f"{rng.choice(channels)}\t{advisor}\t{home}\t{rng.choice(prefs)}\t\t{rng.randrange(0, 5000)}\t\\N\t"
            f"{ts}\t{ts}\tzh-hans\t\tall\tevery_step\n"
        )
        links.add(f"{cid}\t{home}\t{ts}\n")
        if w.cust_second[cid]:
            links.add(f"{cid}\t{w.cust_second[cid]}\t{ts}\n")
        if rnd() < 0.6:
            consents.add(f"{cid}\tservice\tsms\tt\t{ts}\tin_store\t\\N\t\n")
            if rnd() < 0.35:
                consents.add(f"{cid}\tmarketing\twechat\t{'t' if rnd() < 0.7 else 'f'}\t{ts}\tin_store\t\\N\t\n")
        audit.add(f"{ts}\t\\N\tcustomer.create\t{ct_customer}\t{cid}\t{name}\t{home}\t{cid}\t{{}}\t\n")
    c = cust.close()
    conn.commit()
    nl = links.load(conn)
    nc = consents.load(conn)
    na = audit.load(conn)
    conn.commit()
    return f"{c} customers, {nl} store links, {nc} consents, {na} audit events"


def make_vin(rng, wmi: str, year: int, seen: set) -> str:
    from aftersales.common.validators import vin_check_digit

    chars = VIN_CHARS
    while True:
        body = (wmi + "".join(rng.choices(chars, k=5)) + "0" + YEAR_CODES[year] + rng.choice(chars)
                + f"{rng.randrange(10**6):06d}")
        vin = body[:8] + vin_check_digit(body) + body[9:]
        if vin not in seen:
            seen.add(vin)
            return vin


def make_plate(rng, city_letter: str, ev: bool, seen: set) -> str:
    while True:
        if rng.random() < 0.9:
            prefix = "粤" + (city_letter if rng.random() < 0.85 else rng.choice("ABCEJLST"))
        else:
            prefix = rng.choice(OTHER_PROVINCES) + rng.choice("ABCDEF")
        if ev:
            plate = prefix + rng.choice("DF") + rng.choice(PLATE_LETTERS + DIGITS) + f"{rng.randrange(10**4):04d}"
        else:
            k = rng.random()
            if k < 0.6:
                tail = f"{rng.randrange(10**5):05d}"
            elif k < 0.9:
                tail = rng.choice(PLATE_LETTERS) + f"{rng.randrange(10**4):04d}"
            else:
                tail = f"{rng.randrange(10**3):03d}" + rng.choice(PLATE_LETTERS) + rng.choice(PLATE_LETTERS)
            plate = prefix + tail
        if plate not in seen:
            seen.add(plate)
            return plate


def gen_vehicles(w: World, conn) -> str:
    """Vehicles, ownership history, and the plan of every visit (so that mileage is consistent)."""
    rng = w.rng
    rnd = rng.random
    nv, nc = w.n_vehicles, w.n_customers
    # owners: every customer owns >= 1 vehicle, some 2-3, a few fleets; trim/extend to exactly nv
    counts = [1] * (nc + 1)
    counts[0] = 0
    extra = nv - nc
    while extra > 0:
        cid = rng.randrange(1, nc + 1)
        add = 1 if rnd() < 0.97 else rng.randrange(3, 12)
        add = min(add, extra)
        counts[cid] += add
        extra -= add
    owners = array("i", [0]) * (nv + 1)
    vid = 1
    for cid in range(1, nc + 1):
        for _ in range(counts[cid]):
            owners[vid] = cid
            vid += 1
    # shuffle so a customer's vehicles are not adjacent ids
    perm = list(range(1, nv + 1))
    rng.shuffle(perm)
    owners = array("i", [0] + [owners[p] for p in perm])
    w.veh_owner = owners
    w.veh_prev_owner = array("i", [0]) * (nv + 1)
    w.veh_transfer_day = array("i", [0]) * (nv + 1)
    purchase = array("i", [0]) * (nv + 1)
    rate = array("f", [0.0]) * (nv + 1)
    base = array("i", [0]) * (nv + 1)
    make_idx = array("b", [0]) * (nv + 1)
    make_table = weighted_table([(i, wgt) for i, wgt in enumerate([12, 12, 12, 11, 10, 8, 7, 6, 10, 5, 6, 4])], 1000)
    vins: set[str] = set()
    plates: set[str] = set()
    letters = {i: c[1] for i, c in enumerate(CITIES)}
    veh = Copier(conn, "vehicles_vehicle", ",".join([
        "id", "group_id", "vin", "plate", "make", "model", "year", "colour", "fuel_type", "purchase_date",
        "purchase_price", "selling_store_id", "insurance_company", "insurance_expiry", "warranty_start",
        "warranty_end", "current_mileage", "owner_id", "created_at", "updated_at",
    ]))  # fmt: skip
    own = Spool("vehicles_vehicleownership", "vehicle_id,customer_id,started_on,ended_on,reason")
    # visit plan: key = (seconds since epoch day 0) << 21 | vehicle id
    plan: list[int] = []
    plan_target = w.n_lines / 6.67
    # first pass: purchase dates, rates and visit windows; the visit rate is set so orders ~= plan_target
    windows = array("f", [0.0]) * (nv + 1)
    loyal = array("f", [0.0]) * (nv + 1)
    wlo = array("i", [0]) * (nv + 1)
    for v in range(1, nv + 1):
        owner = owners[v]
        # purchase between 2012 and ~2 months ago, newer cars more likely
        p = w.today_day - 60 - int((w.today_day - 60 - (dt.date(2012, 3, 1) - EPOCH).days) * rnd() ** 1.4)
        purchase[v] = p
        rate[v] = 12 + 48 * rnd() ** 1.5  # km per day (4,000-22,000 km a year)
        base[v] = rng.randrange(5, 60)
        lo = max(w.start_day, p + 20, w.cust_created[owner])
        windows[v] = max(0.0, (w.today_day - lo) / 365.0)
        loyal[v] = 0.0 if rnd() < 0.22 else (0.3 + 2.2 * rnd() ** 2)
        if rnd() < 0.05 and nc > 1:  # bought second-hand from another customer
            prev = rng.randrange(1, nc + 1)
            if prev != owner:
                w.veh_prev_owner[v] = prev
                w.veh_transfer_day[v] = p + int((w.today_day - p) * (0.3 + 0.6 * rnd()))
                lo = max(w.start_day, p + 20, min(w.cust_created[owner], w.cust_created[prev]))
                windows[v] = max(0.0, (w.today_day - lo) / 365.0)
        wlo[v] = lo
    lam = plan_target / max(1e-9, sum(windows[v] * loyal[v] for v in range(1, nv + 1)))
    last_visit = array("i", [0]) * (nv + 1)
    for v in range(1, nv + 1):
        x = lam * windows[v] * loyal[v]
        k = int(x) + (1 if rnd() < x - int(x) else 0)
        if not k:
            continue
        lo = wlo[v]
        span = w.today_day - lo
        days = sorted(lo + int(span * rnd()) for _ in range(k))
        for d in days:
            sec = 8 * 3600 + 30 * 60 + rng.randrange(9 * 3600)
            plan.append(((d * 86400 + sec) << 21) | v)
        last_visit[v] = days[-1]
    w.veh_purchase, w.veh_rate, w.veh_base = purchase, rate, base
    # second pass: write vehicles and ownerships
    for v in range(1, nv + 1):
        owner = owners[v]
        mi = make_table[int(rnd() * len(make_table))]
        make_idx[v] = mi
        wmi, make, models, ev_share = MAKES[mi]
        p = purchase[v]
        pdate = EPOCH + dt.timedelta(days=p)
        year = min(max(pdate.year - (1 if pdate.month < 4 else 0), 2012), 2026)
        ev = rnd() < ev_share
        fuel = ("ev" if rnd() < 0.7 else "phev") if ev else ("hybrid" if rnd() < 0.08 else "petrol")
        home = w.cust_home[owner]
        plate = "" if rnd() < 0.01 else make_plate(rng, letters[w.store_city[home]], ev, plates)
        vin = make_vin(rng, wmi, year, vins)
        lv = last_visit[v] or (w.today_day - rng.randrange(30, 400))
        mileage = base[v] + int(rate[v] * max(0, lv - p))
        price = rng.randrange(90_000, 450_000) * 100
        insurance_exp = w.ds(max(p + 365, w.today_day - 200) + rng.randrange(0, 365))
        created = min(max(w.cust_created[owner], p), w.today_day - 1)
        ts = f"{w.ds(created)} 10:00:00+08"
        selling = home if rnd() < 0.6 else "\\N"
        veh.add(
            f"{v}\t{w.group_id}\t{vin}\t{plate}\t{make}\t{rng.choice(models)}\t{year}\t{rng.choice(COLOURS)}\t"
            f"{fuel}\t{w.ds(p)}\t{money(price)}\t{selling}\t{rng.choice(INSURERS)}\t{insurance_exp}\t"
            f"{w.ds(p)}\t{w.ds(p + 3 * 365)}\t{mileage}\t{owner}\t{ts}\t{ts}\n"
        )
        prev = w.veh_prev_owner[v]
        if prev:
            t = w.veh_transfer_day[v]
            own.add(f"{v}\t{prev}\t{w.ds(p)}\t{w.ds(t)}\t转让\n")
            own.add(f"{v}\t{owner}\t{w.ds(t)}\t\\N\t二手车购入\n")
        else:
            own.add(f"{v}\t{owner}\t{w.ds(p)}\t\\N\t新车购入\n")
    n = veh.close()
    conn.commit()
    no = own.load(conn)
    conn.commit()
    plan.sort()
    w.plan = plan
    del vins, plates
    return f"{n} vehicles, {no} ownerships, {len(plan)} visits planned"


def gen_orders(w: World, conn) -> str:
    """Repair orders in time order, their jobs and lines (exactly n_lines), invoices and mileage readings."""
    rng = w.rng
    rnd = rng.random
    plan = w.plan
    n_orders = len(plan)
    # lines per order: 1..16, adjusted so that the sum is exactly n_lines
    per_order = array("b", (min(16, max(1, int(rng.gauss(6.67, 3.2)))) for _ in range(n_orders)))
    diff = w.n_lines - sum(per_order)
    while diff:
        i = rng.randrange(n_orders)
        if diff > 0 and per_order[i] < 16:
            per_order[i] += 1
            diff -= 1
        elif diff < 0 and per_order[i] > 1:
            per_order[i] -= 1
            diff += 1
    job_type_table = weighted_table(JOB_TYPE_WEIGHTS, 100)
    # pre-formatted line tails per job type: (text after ids, amount cents)
    tails: dict[str, list[tuple[str, int]]] = {}
    for jt, items in CATALOG.items():
        out = []
        for kind, code, desc, qty, price in items:
            gross = qty * price // 100
            for disc_pct in (0, 0, 0, 0, 0, 0, 10):
                disc = gross * disc_pct // 100
                out.append((f"\t{kind}\t{code}\t{desc}\t{money(qty)}\t{money(price)}\t{money(disc)}\t{money(gross - disc)}\tf\t{money(price * 6 // 10)}\tf\n",
                            gross - disc))
        tails[jt] = out
    lines = Copier(conn, "workshop_repairline",
                   "id,order_id,job_id,kind,code,description,quantity,unit_price,discount,amount,is_aftermarket,unit_cost,keep_old_part",
                   batch=50000)
    orders = Spool("workshop_repairorder", "id,store_id,number,customer_id,vehicle_id,advisor_id,status,opened_at,"
                   "delivered_at,mileage_in,complaint,total,authorized_total,progress_messages,keep_old_parts,insurer_name")
    # the repair-order lifecycle's NOT NULL job columns (status, is_additional, declined_reason, standard_hours,
    # required_skill, created_at) have no database default: written here
    jobs = Spool("workshop_repairjob", "id,order_id,seq,job_type,title,cause,correction,technician_id,status,is_additional,"
                 "declined_reason,standard_hours,required_skill,required_certificate,created_at")
    invoices = Spool("billing_invoice", "store_id,order_id,customer_id,number,issued_at,status,subtotal,discount,"
                     "tax,total,paid_amount,paid_at,year,seq,vat_rate,authorized_total,refunded_amount,credited_amount,"
                     "insurer_name,insurer_amount")
    readings = Spool("vehicles_mileagereading", "vehicle_id,km,read_at,source,is_correction,note,recorded_by_id")
    store_day: dict[int, tuple[int, int]] = {}
    mask = (1 << 21) - 1
    job_id = 0
    line_id = 0
    recent = w.today_day - 3
    owners, prev_owner, transfer = w.veh_owner, w.veh_prev_owner, w.veh_transfer_day
    for oid, key in enumerate(plan, start=1):
        v = key & mask
        secs = key >> 21
        day, sec = divmod(secs, 86400)
        cid = owners[v]
        if prev_owner[v] and day < transfer[v]:
            cid = prev_owner[v]
        second = w.cust_second[cid]
        store = second if second and rnd() < 0.3 else w.cust_home[cid]
        last_day, seq = store_day.get(store, (0, 0))
        seq = seq + 1 if last_day == day else 1
        store_day[store] = (day, seq)
        date_s = w.ds(day)
        number = f"RO{date_s[:4]}{date_s[5:7]}{date_s[8:]}{seq:04d}"
        opened = f"{date_s} {sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}+08"
        km = w.veh_base[v] + int(w.veh_rate[v] * (day - w.veh_purchase[v]))
        # jobs
        n_lines = per_order[oid - 1]
        n_jobs = min(n_lines, 1 if n_lines <= 2 else rng.choice((1, 1, 2, 2, 2, 3, 3, 4)))
        cuts = sorted(rng.sample(range(1, n_lines), n_jobs - 1)) if n_jobs > 1 else []
        bounds = [0, *cuts, n_lines]
        total = 0
        techs = w.technicians[store]
        for j in range(n_jobs):
            job_id += 1
            jt = "maintenance" if j == 0 and rnd() < 0.6 else rng.choice(job_type_table)
            title, cause, correction = rng.choice(JOBS[jt])
            jobs.add(f"{job_id}\t{oid}\t{j + 1}\t{jt}\t{title}\t{cause}\t{correction}\t{rng.choice(techs)}\tdone\tf\t\t0\t\t\t"
                     f"{date_s} 08:30:00+08\n")
            pool = tails[jt]
            for _ in range(bounds[j + 1] - bounds[j]):
                line_id += 1
                tail, amount = pool[int(rnd() * len(pool))]
                total += amount
                lines.add(f"{line_id}\t{oid}\t{job_id}{tail}")
        if rnd() < 0.01:
            status = "cancelled"
        elif day >= recent:
            status = "in_progress" if rnd() < 0.6 else "delivered"
        else:
            status = "closed"
        delivered = "\\N"
        if status in ("delivered", "closed"):
            dsec = min(sec + rng.randrange(3600, 8 * 3600), 86399)
            delivered = f"{date_s} {dsec // 3600:02d}:{dsec // 60 % 60:02d}:{dsec % 60:02d}+08"
        orders.add(
            f"{oid}\t{store}\t{number}\t{cid}\t{v}\t{rng.choice(w.advisors[store])}\t{status}\t{opened}\t"
            f"{delivered}\t{km}\t{rng.choice(COMPLAINTS)}\t{money(total)}\t{money(total)}\tt\tf\t\n"
        )
        readings.add(f"{v}\t{km}\t{opened}\tvisit\tf\t\t\\N\n")
        if delivered != "\\N":
            tax = total * 13 // 113
            paid = status == "closed"
            invoices.add(
                f"{store}\t{oid}\t{cid}\tFP{number[2:]}\t{delivered}\t{'paid' if paid else 'issued'}\t"
                f"{money(total)}\t0.00\t{money(tax)}\t{money(total)}\t{money(total if paid else 0)}\t"
                f"{delivered if paid else chr(92) + 'N'}\t{delivered[:4]}\t0\t0.1300\t{money(total)}\t0.00\t0.00\t\t0.00\n"
            )
    nl = lines.close()
    conn.commit()
    log(f"     lines streamed: {nl}")
    counts = []
    for spool in (orders, jobs, invoices, readings):
        t = time.perf_counter()
        counts.append(spool.load(conn))
        conn.commit()
        log(f"     {spool.table}: {counts[-1]} rows in {time.perf_counter() - t:.1f} s")
    return f"{counts[0]} orders, {counts[1]} jobs, {nl} lines, {counts[2]} invoices, {counts[3]} readings"


def check_sample(conn) -> str:
    """Validate a sample of the generated identifiers with the app's own validators."""
    import phonenumbers

    from aftersales.common.validators import mobile_digits, normalize_mobile, normalize_plate, normalize_vin

    bad = 0
    for mobile, digits in conn.execute(
        "SELECT mobile, mobile_digits FROM customers_customer TABLESAMPLE SYSTEM (1) LIMIT 2000"
    ):
        if normalize_mobile(mobile) != mobile or mobile_digits(mobile) != digits:
            bad += 1
        assert phonenumbers.is_valid_number(phonenumbers.parse(mobile))
    for vin, plate in conn.execute("SELECT vin, plate FROM vehicles_vehicle TABLESAMPLE SYSTEM (1) LIMIT 2000"):
        assert normalize_vin(vin) == vin
        if plate:
            assert normalize_plate(plate) == plate, plate
    assert bad == 0
    return "sampled mobiles, VINs and plates pass the app's validators"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full data set (default 1.0)")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--reset", action="store_true", help="drop and recreate the database first")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings")
    os.environ.setdefault("AFTERSALES_DATA_DIR", str(ROOT / "bench" / "data"))
    os.environ.setdefault("AFTERSALES_LOG_LEVEL", "WARNING")

    import django
    import psycopg

    phases = Phases()
    log(f"aftersales bench generator: scale={args.scale} db={args.database_url}")
    if args.reset:
        phases.run("reset database", recreate_database, args.database_url)
    django.setup()
    phases.run("migrate", migrate)

    w = World(args.scale, args.seed)
    conn = psycopg.connect(args.database_url)
    session_settings(conn)
    if conn.execute("SELECT EXISTS (SELECT 1 FROM customers_customer)").fetchone()[0]:
        sys.exit("the database already holds customers: run with --reset")
    before = all_schema_objects(conn)
    snapshot = schema_snapshot(conn)
    phases.run("drop secondary indexes/constraints", drop_for_load, conn, snapshot)
    phases.run("stores, staff, roles", make_org, w)
    phases.run("customers (+links, consents, audit)", gen_customers, w, conn)
    phases.run("vehicles (+ownerships, visit plan)", gen_vehicles, w, conn)
    phases.run("orders, jobs, lines, invoices", gen_orders, w, conn)
    phases.run("sequences", reset_sequences, conn)
    phases.run("recreate indexes", recreate_indexes, conn, snapshot)
    phases.run("recreate unique + FK constraints", recreate_constraints, conn, snapshot)
    conn.autocommit = True
    phases.run("vacuum analyze", lambda: conn.execute("VACUUM (ANALYZE)") and "done")
    after = all_schema_objects(conn)
    if before != after:
        missing = sorted(set(before) - set(after))
        added = sorted(set(after) - set(before))
        sys.exit(f"schema differs from what migrate made!\nmissing: {missing}\nadded: {added}")
    log(f"schema check: all {len(after)} indexes and constraints identical to the migrated schema")
    phases.run("validate sample", check_sample, conn)
    sizes = conn.execute(
        "SELECT relname, n_live_tup FROM pg_stat_user_tables WHERE relname = ANY(%s) ORDER BY 1", [LOADED_TABLES]
    ).fetchall()
    for name, rows in sizes:
        log(f"   {name:<32} {rows:>12,}")
    log("database size: " + conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0])
    phases.report()


if __name__ == "__main__":
    main()
