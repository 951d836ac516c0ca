"""Our own fault-code knowledge base (SAE J2012 structure; texts written for this product, no third-party tables).

A diagnostic trouble code has five characters: a system letter (P powertrain, C chassis, B body, U network), a digit
saying who defines it (generic, i.e. the same on every make, or manufacturer-specific), a subsystem character and two
more digits. :func:`explain` gives every well-formed code a system, a category and a default severity from that
structure; the common generic codes also have a Chinese and an English description, written here by hand. A
manufacturer-specific code says so instead of guessing what its maker meant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from .choices import Severity

CODE_RE = re.compile(r"^[PCBU][0-3][0-9A-F]{3}$")

SYSTEMS = {"P": _("Powertrain"), "C": _("Chassis"), "B": _("Body"), "U": _("Network and communication")}

#: category → (label, default severity)
CATEGORIES = {
    "fuel_air": (_("Fuel and air metering"), Severity.IMPORTANT),
    "ignition": (_("Ignition and misfire"), Severity.IMPORTANT),
    "emissions": (_("Emission controls"), Severity.INFO),
    "speed_idle": (_("Vehicle speed, idle and inputs"), Severity.IMPORTANT),
    "computer": (_("Control modules and outputs"), Severity.IMPORTANT),
    "transmission": (_("Transmission"), Severity.IMPORTANT),
    "hybrid": (_("Hybrid and electric drive"), Severity.IMPORTANT),
    "cooling": (_("Engine cooling"), Severity.CRITICAL),
    "oil": (_("Engine oil pressure"), Severity.CRITICAL),
    "brakes": (_("Brakes"), Severity.CRITICAL),
    "charging": (_("Charging and battery"), Severity.IMPORTANT),
    "chassis": (_("Chassis (brakes, steering, suspension)"), Severity.IMPORTANT),
    "body": (_("Body (airbags, comfort, lighting)"), Severity.INFO),
    "network": (_("Network communication"), Severity.IMPORTANT),
}

#: the third character of a generic powertrain code → its category (SAE J2012 subsystem groups)
P_SUBSYSTEM = {
    "0": "fuel_air", "1": "fuel_air", "2": "fuel_air", "3": "ignition", "4": "emissions", "5": "speed_idle",
    "6": "computer", "7": "transmission", "8": "transmission", "9": "transmission", "A": "hybrid", "B": "hybrid",
    "C": "hybrid", "D": "hybrid", "E": "hybrid", "F": "hybrid",
}
LETTER_CATEGORY = {"C": "chassis", "B": "body", "U": "network"}


@dataclass(frozen=True)
class CodeInfo:
    code: str
    system: str  # P C B U
    generic: bool
    category: str
    severity: str
    en: str  # "" when we have no description of our own
    zh: str

    def description(self, language: str) -> str:
        """The description in ``language``; for a code without one, what we know from its structure."""
        text = self.en if language.startswith("en") else self.zh
        if text:
            return text
        if not self.generic:
            return ("Manufacturer-specific code: look it up in the maker's service information."
                    if language.startswith("en") else "厂家自定义故障码：请查阅该品牌的维修资料。")
        return ("Generic code not in our knowledge base yet." if language.startswith("en")
                else "通用故障码，知识库中暂无说明。")

    @property
    def system_label(self) -> str:
        return str(SYSTEMS[self.system])

    @property
    def category_label(self) -> str:
        return str(CATEGORIES[self.category][0])


# ---- the descriptions, by family ------------------------------------------------------------------------------------
_D: dict[str, tuple[str, str]] = {}  # code → (English, Chinese)
_OVERRIDE: dict[str, tuple[str, str | None]] = {}  # code → (category, severity or None for the category's default)


def _add(code: str, en: str, zh: str, category: str | None = None, severity: str | None = None) -> None:
    _D[code] = (en, zh)
    if category or severity:
        _OVERRIDE[code] = (category or "", severity)


_BANK = {1: ("bank 1", "1号缸组"), 2: ("bank 2", "2号缸组")}
_SENSOR = {1: ("sensor 1 (before the catalyst)", "传感器1（催化器前）"), 2: ("sensor 2 (after the catalyst)", "传感器2（催化器后）")}
_FAULT = {  # the usual last-digit pattern of a sensor circuit
    "circuit": ("circuit fault", "电路故障"),
    "range": ("signal out of range or implausible", "信号超出范围或不合理"),
    "low": ("signal too low", "信号过低"),
    "high": ("signal too high", "信号过高"),
    "intermittent": ("signal intermittent", "信号时有时无"),
}


def _sensor_family(first: int, en: str, zh: str, parts: tuple[str, ...] = ("circuit", "range", "low", "high", "intermittent"),
                   category: str | None = None, severity: str | None = None) -> None:
    for n, part in enumerate(parts):
        _add(f"P{first + n:04d}", f"{en}: {_FAULT[part][0]}", f"{zh}{_FAULT[part][1]}", category, severity)


# camshaft timing (P0010–P0022)
for code, (bank, actuator, what_en, what_zh) in {
    10: (1, "A", "actuator circuit", "执行器电路故障"), 11: (1, "A", "timing over-advanced or poor performance", "正时过度提前或性能不良"),
    12: (1, "A", "timing over-retarded", "正时过度滞后"), 13: (1, "B", "actuator circuit", "执行器电路故障"),
    14: (1, "B", "timing over-advanced or poor performance", "正时过度提前或性能不良"), 15: (1, "B", "timing over-retarded", "正时过度滞后"),
    20: (2, "A", "actuator circuit", "执行器电路故障"), 21: (2, "A", "timing over-advanced or poor performance", "正时过度提前或性能不良"),
    22: (2, "A", "timing over-retarded", "正时过度滞后"),
}.items():
    _add(f"P{code:04d}", f"Camshaft position “{actuator}” ({_BANK[bank][0]}): {what_en}",
         f"{_BANK[bank][1]}凸轮轴位置“{actuator}”{what_zh}")
for code, (bank, sensor) in {16: (1, "A"), 17: (1, "B"), 18: (2, "A"), 19: (2, "B")}.items():
    _add(f"P{code:04d}", f"Crankshaft and camshaft positions do not agree ({_BANK[bank][0]}, sensor {sensor}): check the timing chain or belt",
         f"曲轴与凸轮轴位置不一致（{_BANK[bank][1]}，传感器{sensor}）：请检查正时链条或皮带")
# oxygen sensor heaters (P0030–P0058)
for base, bank, sensor in ((30, 1, 1), (36, 1, 2), (50, 2, 1), (56, 2, 2)):
    for n, (en, zh) in enumerate((("control circuit fault", "控制电路故障"), ("control circuit low", "控制电路电压过低"),
                                  ("control circuit high", "控制电路电压过高"))):
        _add(f"P{base + n:04d}", f"Oxygen sensor heater, {_BANK[bank][0]} {_SENSOR[sensor][0]}: {en}",
             f"氧传感器加热器（{_BANK[bank][1]}{_SENSOR[sensor][1]}）{zh}", "emissions")
_add("P0068", "Intake pressure or air flow does not match the throttle position", "进气压力或空气流量与节气门位置不符")
_add("P0087", "Fuel rail or system pressure too low", "燃油导轨（系统）压力过低")
_add("P0088", "Fuel rail or system pressure too high", "燃油导轨（系统）压力过高")
_add("P0089", "Fuel pressure regulator not performing as expected", "燃油压力调节器工作不良")
_sensor_family(100, "Mass air flow sensor", "空气流量传感器")
_sensor_family(105, "Intake manifold pressure (MAP) sensor", "进气歧管压力传感器")
_sensor_family(110, "Intake air temperature sensor", "进气温度传感器")
_sensor_family(115, "Engine coolant temperature sensor", "发动机冷却液温度传感器", category="cooling", severity=Severity.IMPORTANT)
_sensor_family(120, "Throttle or pedal position sensor “A”", "节气门/踏板位置传感器“A”")
_add("P0125", "Coolant too cold for closed-loop fuel control", "冷却液温度不足，无法进入闭环燃油控制", "cooling", Severity.INFO)
_add("P0126", "Coolant too cold for stable operation", "冷却液温度不足，发动机无法稳定运行", "cooling", Severity.INFO)
_add("P0128", "Thermostat: coolant stays below its regulating temperature", "节温器故障：冷却液温度低于调节温度", "cooling", Severity.IMPORTANT)
# oxygen sensors (P0130–P0161)
for base, bank, sensor in ((130, 1, 1), (136, 1, 2), (150, 2, 1), (156, 2, 2)):
    for n, (en, zh) in enumerate((
        ("circuit fault", "电路故障"), ("voltage too low", "电压过低"), ("voltage too high", "电压过高"),
        ("slow response", "响应迟缓"), ("no activity", "无信号变化"), ("heater circuit fault", "加热器电路故障"),
    )):
        _add(f"P{base + n:04d}", f"Oxygen sensor, {_BANK[bank][0]} {_SENSOR[sensor][0]}: {en}",
             f"氧传感器（{_BANK[bank][1]}{_SENSOR[sensor][1]}）{zh}", "emissions")
for bank, base in ((1, 170), (2, 173)):
    _add(f"P{base:04d}", f"Fuel trim out of range ({_BANK[bank][0]})", f"燃油修正超出范围（{_BANK[bank][1]}）")
    _add(f"P{base + 1:04d}", f"Mixture too lean ({_BANK[bank][0]}): look for intake leaks, a weak fuel pump or dirty injectors",
         f"混合气过稀（{_BANK[bank][1]}）：请检查进气泄漏、燃油泵或喷油器")
    _add(f"P{base + 2:04d}", f"Mixture too rich ({_BANK[bank][0]}): look for leaking injectors or a faulty sensor",
         f"混合气过浓（{_BANK[bank][1]}）：请检查喷油器泄漏或传感器")
_sensor_family(180, "Fuel temperature sensor “A”", "燃油温度传感器“A”", ("circuit", "range", "low", "high"))
_sensor_family(190, "Fuel rail pressure sensor", "燃油导轨压力传感器", ("circuit", "range", "low", "high"))
_add("P0200", "Fuel injector circuit fault", "喷油器电路故障")
for cyl in range(1, 13):
    _add(f"P{200 + cyl:04d}", f"Fuel injector circuit fault, cylinder {cyl}", f"第{cyl}缸喷油器电路故障")
_add("P0217", "Engine overheating: stop the engine and let it cool before driving on", "发动机过热：请停车熄火，待冷却后再行驶", "cooling", Severity.CRITICAL)
_add("P0218", "Transmission fluid overheating", "变速箱油温过高", "transmission", Severity.CRITICAL)
_add("P0219", "Engine over-speed", "发动机超速", "ignition", Severity.IMPORTANT)
_sensor_family(220, "Throttle or pedal position sensor “B”", "节气门/踏板位置传感器“B”", ("circuit", "range", "low", "high"))
_add("P0230", "Fuel pump primary circuit fault", "燃油泵主电路故障")
_add("P0234", "Turbo or supercharger overboost", "涡轮（机械）增压压力过高")
_add("P0299", "Turbo or supercharger underboost", "涡轮（机械）增压压力不足")
_add("P0300", "Random or multiple-cylinder misfire: the catalyst can be damaged; have it checked soon",
     "随机/多缸失火：可能损坏三元催化器，请尽快检修", "ignition", Severity.CRITICAL)
for cyl in range(1, 13):
    _add(f"P{300 + cyl:04d}", f"Misfire detected in cylinder {cyl}", f"第{cyl}缸失火", "ignition", Severity.CRITICAL)
_sensor_family(325, "Knock sensor 1 (bank 1)", "爆震传感器1（1号缸组）", ("circuit", "range", "low", "high", "intermittent"))
_sensor_family(330, "Knock sensor 2 (bank 2)", "爆震传感器2（2号缸组）", ("circuit", "range", "low", "high", "intermittent"))
_sensor_family(335, "Crankshaft position sensor “A”", "曲轴位置传感器“A”", severity=Severity.CRITICAL)
_sensor_family(340, "Camshaft position sensor “A” (bank 1)", "凸轮轴位置传感器“A”（1号缸组）")
for n, letter in enumerate("ABCDEFGHIJKL"):
    _add(f"P{351 + n:04d}", f"Ignition coil “{letter}” circuit fault (cylinder {n + 1} on most engines)",
         f"点火线圈“{letter}”电路故障（多数发动机为第{n + 1}缸）", "ignition")
_add("P0400", "Exhaust gas recirculation (EGR) flow fault", "废气再循环（EGR）流量故障")
_add("P0401", "EGR flow insufficient", "废气再循环流量不足")
_add("P0402", "EGR flow excessive", "废气再循环流量过大")
_add("P0403", "EGR control circuit fault", "废气再循环控制电路故障")
_add("P0404", "EGR control out of range", "废气再循环控制超出范围")
_add("P0410", "Secondary air injection system fault", "二次空气喷射系统故障")
_add("P0411", "Secondary air injection: incorrect flow", "二次空气喷射流量不正确")
_add("P0420", "Catalyst efficiency below threshold (bank 1)", "三元催化器效率低于限值（1号缸组）")
_add("P0430", "Catalyst efficiency below threshold (bank 2)", "三元催化器效率低于限值（2号缸组）")
for code, en, zh in (
    (440, "Evaporative emission (EVAP) system fault", "燃油蒸发排放系统故障"),
    (441, "EVAP system: incorrect purge flow", "燃油蒸发系统清污流量不正确"),
    (442, "EVAP system: small leak", "燃油蒸发系统小泄漏"),
    (443, "EVAP purge valve circuit fault", "燃油蒸发清污阀电路故障"),
    (446, "EVAP vent control circuit fault", "燃油蒸发通风控制电路故障"),
    (449, "EVAP vent valve circuit fault", "燃油蒸发通风阀电路故障"),
    (451, "EVAP pressure sensor out of range", "燃油蒸发压力传感器超出范围"),
    (452, "EVAP pressure sensor signal too low", "燃油蒸发压力传感器信号过低"),
    (453, "EVAP pressure sensor signal too high", "燃油蒸发压力传感器信号过高"),
    (455, "EVAP system: large leak (often the fuel cap)", "燃油蒸发系统大泄漏（常见为油箱盖未拧紧）"),
    (456, "EVAP system: very small leak", "燃油蒸发系统微小泄漏"),
    (457, "EVAP leak: fuel cap loose or missing", "燃油蒸发泄漏：油箱盖松动或缺失"),
):
    _add(f"P{code:04d}", en, zh)
_sensor_family(460, "Fuel level sensor “A”", "燃油液位传感器“A”", ("circuit", "range", "low", "high"))
_add("P0480", "Cooling fan 1 control circuit fault", "冷却风扇1控制电路故障", "cooling", Severity.IMPORTANT)
_add("P0481", "Cooling fan 2 control circuit fault", "冷却风扇2控制电路故障", "cooling", Severity.IMPORTANT)
_sensor_family(500, "Vehicle speed sensor “A”", "车速传感器“A”", ("circuit", "range", "low", "intermittent"))
_add("P0504", "Brake switch “A” and “B” do not agree", "制动开关“A”与“B”信号不一致", "brakes", Severity.CRITICAL)
_add("P0505", "Idle air control system fault", "怠速控制系统故障")
_add("P0506", "Idle speed lower than expected", "怠速低于预期")
_add("P0507", "Idle speed higher than expected", "怠速高于预期")
_sensor_family(520, "Engine oil pressure sensor or switch", "机油压力传感器（开关）", ("circuit", "range", "low", "high"), category="oil", severity=Severity.IMPORTANT)
_add("P0524", "Engine oil pressure too low: stop the engine and check the oil level", "机油压力过低：请立即停车熄火并检查机油液位", "oil", Severity.CRITICAL)
_add("P0530", "Air-conditioning refrigerant pressure sensor circuit fault", "空调制冷剂压力传感器电路故障", "speed_idle", Severity.INFO)
_add("P0532", "Air-conditioning refrigerant pressure sensor signal too low", "空调制冷剂压力传感器信号过低", "speed_idle", Severity.INFO)
_add("P0533", "Air-conditioning refrigerant pressure sensor signal too high", "空调制冷剂压力传感器信号过高", "speed_idle", Severity.INFO)
_add("P0560", "System voltage fault", "系统电压故障", "charging")
_add("P0562", "System voltage low: check the battery and the generator", "系统电压过低：请检查蓄电池和发电机", "charging")
_add("P0563", "System voltage high: check the generator's regulator", "系统电压过高：请检查发电机调节器", "charging")
_add("P0571", "Brake switch “A” circuit fault", "制动开关“A”电路故障", "brakes", Severity.CRITICAL)
_add("P0572", "Brake switch “A” circuit low", "制动开关“A”电路电压过低", "brakes", Severity.CRITICAL)
_add("P0600", "Serial communication link fault", "串行通信链路故障")
_add("P0601", "Control module memory checksum error", "控制模块存储器校验和错误")
_add("P0602", "Control module programming error", "控制模块编程错误")
_add("P0603", "Control module keep-alive memory error", "控制模块保持存储器错误")
_add("P0604", "Control module RAM error", "控制模块随机存储器错误")
_add("P0605", "Control module ROM error", "控制模块只读存储器错误")
_add("P0606", "Control module processor fault", "控制模块处理器故障")
_add("P0620", "Generator control circuit fault", "发电机控制电路故障", "charging")
_add("P0621", "Generator warning lamp control circuit fault", "发电机指示灯控制电路故障", "charging")
_add("P0622", "Generator field control circuit fault", "发电机励磁控制电路故障", "charging")
_add("P0700", "Transmission control system reports a fault", "变速箱控制系统报告故障")
_add("P0705", "Gear selector (range) sensor circuit fault", "挡位（范围）传感器电路故障")
_add("P0706", "Gear selector (range) sensor out of range", "挡位（范围）传感器信号超出范围")
_sensor_family(710, "Transmission fluid temperature sensor “A”", "变速箱油温传感器“A”", ("circuit", "range", "low", "high"))
_add("P0715", "Transmission input (turbine) speed sensor circuit fault", "变速箱输入（涡轮）转速传感器电路故障")
_add("P0716", "Transmission input speed sensor out of range", "变速箱输入转速传感器信号超出范围")
_add("P0717", "Transmission input speed sensor: no signal", "变速箱输入转速传感器无信号")
_add("P0720", "Transmission output speed sensor circuit fault", "变速箱输出转速传感器电路故障")
_add("P0725", "Engine speed input to the transmission: circuit fault", "变速箱发动机转速输入电路故障")
_add("P0730", "Incorrect gear ratio", "传动比不正确")
for gear in range(1, 6):
    _add(f"P{730 + gear:04d}", f"Incorrect gear ratio in gear {gear}", f"{gear}挡传动比不正确")
_add("P0736", "Incorrect gear ratio in reverse", "倒挡传动比不正确")
_add("P0740", "Torque converter clutch circuit fault", "液力变矩器离合器电路故障")
_add("P0741", "Torque converter clutch stuck off or not performing", "液力变矩器离合器无法锁止或性能不良")
_add("P0742", "Torque converter clutch stuck on", "液力变矩器离合器卡在锁止状态")
_add("P0743", "Torque converter clutch electrical fault", "液力变矩器离合器电气故障")
for n, letter in enumerate("ABCDE"):
    _add(f"P{750 + 5 * n:04d}", f"Shift solenoid “{letter}” fault", f"换挡电磁阀“{letter}”故障")
_add("P0A80", "Hybrid battery pack needs replacing", "混合动力电池组需要更换", "hybrid", Severity.CRITICAL)
_add("P2096", "Fuel trim after the catalyst: too lean (bank 1)", "催化器后燃油修正过稀（1号缸组）", "emissions")
_add("P2097", "Fuel trim after the catalyst: too rich (bank 1)", "催化器后燃油修正过浓（1号缸组）", "emissions")
_add("P2135", "Throttle or pedal position sensors “A” and “B” do not agree", "节气门/踏板位置传感器“A”与“B”信号不一致", "fuel_air", Severity.CRITICAL)
_add("P2138", "Accelerator pedal sensors “D” and “E” do not agree", "加速踏板位置传感器“D”与“E”信号不一致", "fuel_air", Severity.CRITICAL)
_add("P2187", "Mixture too lean at idle (bank 1)", "怠速时混合气过稀（1号缸组）")
_add("P2188", "Mixture too rich at idle (bank 1)", "怠速时混合气过浓（1号缸组）")
_add("P2195", "Oxygen sensor signal stuck lean (bank 1 sensor 1)", "氧传感器信号持续偏稀（1号缸组传感器1）", "emissions")
_add("P2196", "Oxygen sensor signal stuck rich (bank 1 sensor 1)", "氧传感器信号持续偏浓（1号缸组传感器1）", "emissions")
_add("P2270", "Oxygen sensor signal stuck lean (bank 1 sensor 2)", "氧传感器信号持续偏稀（1号缸组传感器2）", "emissions")
_add("P2271", "Oxygen sensor signal stuck rich (bank 1 sensor 2)", "氧传感器信号持续偏浓（1号缸组传感器2）", "emissions")
_add("U0001", "High-speed CAN bus communication fault", "高速CAN总线通信故障")
_add("U0073", "Control module communication bus “A” off", "控制模块通信总线“A”关闭")
_add("U0100", "Lost communication with the engine control module", "与发动机控制模块通信中断", severity=Severity.CRITICAL)
_add("U0101", "Lost communication with the transmission control module", "与变速箱控制模块通信中断")
_add("U0121", "Lost communication with the ABS control module", "与ABS防抱死控制模块通信中断", "brakes", Severity.CRITICAL)
_add("U0140", "Lost communication with the body control module", "与车身控制模块通信中断")
_add("U0151", "Lost communication with the airbag control module", "与安全气囊控制模块通信中断", severity=Severity.CRITICAL)
_add("U0155", "Lost communication with the instrument cluster", "与组合仪表通信中断")

DESCRIBED = frozenset(_D)


def is_generic(code: str) -> bool:
    """SAE J2012: P0, P2, P34–P39 and the 0 and 3 blocks of C, B and U are generic; P1, P30–P33 and the 1 and 2
    blocks of C, B and U are the manufacturer's."""
    letter, digit = code[0], code[1]
    if letter == "P":
        return digit in "02" or (digit == "3" and code[2] in "456789ABCDEF")
    return digit in "03"


def normalize(code: object) -> str | None:
    """``p0301`` → ``P0301``; None for anything that is not a well-formed code."""
    if not isinstance(code, str):
        return None
    text = code.strip().upper()
    return text if CODE_RE.match(text) else None


def explain(code: str) -> CodeInfo:
    """What a well-formed code means (call :func:`normalize` first)."""
    letter = code[0]
    generic = is_generic(code)
    category = P_SUBSYSTEM.get(code[2], "fuel_air") if letter == "P" else LETTER_CATEGORY[letter]
    severity = CATEGORIES[category][1]
    if generic and code in _OVERRIDE:
        over_category, over_severity = _OVERRIDE[code]
        category = over_category or category
        severity = over_severity or CATEGORIES[category][1]
    en, zh = _D.get(code, ("", "")) if generic else ("", "")
    return CodeInfo(code=code, system=letter, generic=generic, category=category, severity=severity, en=en, zh=zh)
