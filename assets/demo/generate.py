#!/usr/bin/env python3
"""Deterministic generator for Fieldloop demo data (fictional 青溪县, 赣州市, 江西省).

Standard library only, Python 3.11. Run from anywhere:

    python3 assets/demo/generate.py

Writes departments.json, industries.json, teams.json, inspectors.json,
subjects.json, items.json and handbooks.json next to this script. The output
is byte-for-byte reproducible (fixed seed, no clock, no environment input).

Source policy: 江西省人民政府办公厅《关于深入推进跨部门综合监管的实施方案》
(赣府厅字〔2023〕60号): 跨部门综合监管事项清单, 乡镇"一支队伍管执法",
"信用+双随机", "进一次门、查多项事", "一业一册"/"一业一查".

The county (青溪县) is fictional. Its division code 360736 is not an assigned
code (the counties of 赣州市 run 360721..360735); it is used in USCCs and in
badge numbers.
"""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path

SEED = 20230825  # date of 赣府厅字〔2023〕60号
OUT_DIR = Path(__file__).resolve().parent

COUNTY = "青溪县"
DIVISION_CODE = "360736"  # fictional county code under 赣州市 (3607)
CENTER_LAT = 25.6200  # county seat (青溪镇), fictional, in southern Jiangxi
CENTER_LON = 115.3300
MAX_RADIUS_KM = 20.0
N_SUBJECTS = 200


def fail(msg: str) -> None:
    print(f"generate.py: FAILED: {msg}", file=sys.stderr)
    sys.exit(1)


def check(cond: bool, msg: str) -> None:
    if not cond:
        fail(msg)


# ---------------------------------------------------------------------------
# GB 32100-2015 unified social credit code (统一社会信用代码)
# ---------------------------------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I O Z S V
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714-1997 organization code


def uscc_check_char(first17: str) -> str:
    if len(first17) != 17:
        raise ValueError("need 17 characters")
    total = 0
    for ch, w in zip(first17, USCC_WEIGHTS):
        v = USCC_ALPHABET.find(ch)
        if v < 0:
            raise ValueError(f"character {ch!r} not allowed")
        total += v * w
    c = 31 - total % 31
    return USCC_ALPHABET[0 if c == 31 else c]


def uscc_valid(code: str) -> bool:
    if len(code) != 18 or any(ch not in USCC_ALPHABET for ch in code):
        return False
    if not code[2:8].isdigit():
        return False
    return uscc_check_char(code[:17]) == code[17]


def org_value(ch: str) -> int:
    # GB 11714: digits are themselves, letters A=10 .. Z=35
    return int(ch) if ch.isdigit() else ord(ch) - 55


def org_check_char(body8: str) -> str:
    total = sum(org_value(ch) * w for ch, w in zip(body8, ORG_WEIGHTS))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def org_code_valid(code9: str) -> bool:
    return len(code9) == 9 and org_check_char(code9[:8]) == code9[8]


# Published codes (both GB 32100 and GB 11714 check characters hold):
KNOWN_VALID_USCC = [
    "91350100M000100Y43",  # worked example commonly quoted for GB 32100-2015
    "914403001922038216",  # 华为技术有限公司
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司
    "91110108551385082Q",  # 小米科技有限责任公司
    "91110105771583283D",  # sample codes from the hutool CreditCodeUtil tests
    "91110000802100433B",
    "91110108740084270C",
    "91110108735106340Y",
    "91440300359143307G",
]


def uscc_self_test() -> None:
    for code in KNOWN_VALID_USCC:
        check(uscc_valid(code), f"known USCC {code} does not validate")
        check(org_code_valid(code[8:17]), f"known USCC {code}: org code check fails")
        # any single-character substitution must be detected
        for i, orig in enumerate(code):
            for ch in USCC_ALPHABET:
                if ch == orig:
                    continue
                mutated = code[:i] + ch + code[i + 1:]
                check(not uscc_valid(mutated), f"mutation {mutated} of {code} validates")
    for bad in ("91350100M000100Y4", "91350100M000100Y43X", "91350100M000I00Y43",
                "91350100M000100Y44", "9135010OM000100Y43"):
        check(not uscc_valid(bad), f"malformed USCC {bad} validates")
    check(org_check_char("M000100Y") == "4", "GB 11714 check of M000100Y should be 4")


# ---------------------------------------------------------------------------
# Reference data
# ---------------------------------------------------------------------------

DEPARTMENTS = [
    # code, name, name_en, badge department digits
    ("SCJG", "青溪县市场监督管理局", "Market Regulation", "01"),
    ("STHJ", "赣州市青溪生态环境局", "Ecology and Environment", "02"),
    ("YJGL", "青溪县应急管理局", "Emergency Management", "03"),
    ("XFJY", "青溪县消防救援大队", "Fire and Rescue", "04"),
    ("WSJK", "青溪县卫生健康委员会", "Health", "05"),
    ("ZJ", "青溪县住房和城乡建设局", "Housing and Urban-Rural Development", "06"),
    ("SW", "青溪县商务局", "Commerce", "07"),
    ("GA", "青溪县公安局", "Public Security", "08"),
    ("JT", "青溪县交通运输局", "Transport", "09"),
]

INDUSTRIES = [
    ("catering", "餐饮服务", "Catering"),
    ("fuel_retail", "成品油零售", "Fuel Retail"),
    ("pharmacy", "药品零售", "Pharmacy"),
    ("hazardous_chemicals", "危险化学品经营", "Hazardous Chemicals Trading"),
    ("gas", "燃气经营", "Gas Supply"),
    ("rental_housing", "自建房出租", "Rental of Self-built Housing"),
    ("prepaid_cards", "单用途预付卡经营", "Single-purpose Prepaid Cards"),
    ("supermarket", "商超", "Supermarkets and Stores"),
    ("hotel", "旅馆住宿", "Hotels and Lodging"),
    ("auto_repair", "机动车维修", "Motor Vehicle Repair"),
]

TEAMS = [
    {
        "id": "T-QX-01",
        "name": "青溪镇综合行政执法队",
        "kind": "township_squad",
        "departments": ["SCJG", "YJGL", "ZJ", "XFJY"],
    },
    {
        "id": "T-QX-02",
        "name": "青溪县跨部门联合检查组",
        "kind": "county_team",
        "departments": [d[0] for d in DEPARTMENTS],
    },
]

INSPECTORS = [
    # name, department, team
    ("钟志强", "SCJG", "T-QX-01"),
    ("赖雪梅", "SCJG", "T-QX-01"),
    ("谢文斌", "YJGL", "T-QX-01"),
    ("曾海燕", "ZJ", "T-QX-01"),
    ("刘建华", "XFJY", "T-QX-01"),
    ("黄丽萍", "SCJG", "T-QX-02"),
    ("廖国平", "STHJ", "T-QX-02"),
    ("肖振宇", "YJGL", "T-QX-02"),
    ("罗晓东", "XFJY", "T-QX-02"),
    ("邱慧敏", "WSJK", "T-QX-02"),
    ("温明辉", "ZJ", "T-QX-02"),
    ("陈静怡", "SW", "T-QX-02"),
    ("朱永红", "GA", "T-QX-02"),
    ("胡伟东", "JT", "T-QX-02"),
]

# ---------------------------------------------------------------------------
# Supervision item catalog (监管事项清单)
# (department, group, title, legal_basis, industries, requires_evidence)
# Articles are cited only where the numbering is certain; otherwise the law
# or regulation is cited by name.
# ---------------------------------------------------------------------------

FSL = "《中华人民共和国食品安全法》"
DAL = "《中华人民共和国药品管理法》"
WSL = "《中华人民共和国安全生产法》"
FPL = "《中华人民共和国消防法》"
HCR = "《危险化学品安全管理条例》"
GASR = "《城镇燃气管理条例》"
SEL = "《中华人民共和国特种设备安全法》"
APL = "《中华人民共和国大气污染防治法》"
SWL = "《中华人民共和国固体废物污染环境防治法》"
PPC = "《单用途商业预付卡管理办法（试行）》"
PHR = "《公共场所卫生管理条例》"
HOTEL = "《旅馆业治安管理办法》"
MVR = "《机动车维修管理规定》"

FOOD = ["catering", "supermarket"]

ITEMS = [
    # --- 市场监管: 食品经营通用 -------------------------------------------
    ("SCJG", "SP", "食品经营许可证（或仅销售预包装食品备案）是否在有效期内并在经营场所公示",
     f"{FSL}第三十五条", FOOD, True),
    ("SCJG", "SP", "是否建立并执行进货查验记录制度，查验供货者许可证和产品合格证明",
     f"{FSL}第五十三条", FOOD, True),
    ("SCJG", "SP", "是否定期检查库存食品，及时清理变质或超过保质期的食品",
     f"{FSL}第五十四条", FOOD, True),
    ("SCJG", "SP", "从事接触直接入口食品工作的从业人员是否取得有效健康证明",
     f"{FSL}第四十五条", FOOD, True),
    # --- 市场监管: 餐饮 ------------------------------------------------------
    ("SCJG", "CY", "餐具、饮具是否按要求清洗消毒，消毒设施设备是否正常运转",
     f"{FSL}第五十六条", ["catering"], True),
    ("SCJG", "CY", "是否存在采购、使用腐败变质、超过保质期或不符合食品安全标准的食品原料",
     f"{FSL}第三十四条、第五十五条", ["catering"], True),
    # --- 市场监管: 商超 ------------------------------------------------------
    ("SCJG", "SC", "销售散装食品是否在容器、外包装上标明名称、生产日期或批号、保质期及生产经营者信息",
     f"{FSL}第六十八条", ["supermarket"], True),
    # --- 市场监管: 价格、计量、登记 ----------------------------------------
    ("SCJG", "JG", "商品和服务是否按规定明码标价",
     "《中华人民共和国价格法》第十三条",
     ["supermarket", "hotel", "fuel_retail", "prepaid_cards"], True),
    ("SCJG", "JL", "用于贸易结算的计量器具（加油机、电子秤等）是否经强制检定并在有效期内",
     "《中华人民共和国计量法》第九条", ["fuel_retail", "gas"], True),
    ("SCJG", "TY", "营业执照是否置于经营场所醒目位置，登记事项与实际经营是否一致",
     "《中华人民共和国市场主体登记管理条例》",
     ["hotel", "fuel_retail", "gas", "prepaid_cards"], False),
    # --- 市场监管: 特种设备 --------------------------------------------------
    ("SCJG", "TZ", "电梯、压力容器、气瓶等特种设备是否定期检验并在检验合格有效期内使用",
     f"{SEL}第四十条", ["hotel", "gas"], True),
    ("SCJG", "TZ", "特种设备是否办理使用登记，登记标志是否置于显著位置",
     f"{SEL}第三十三条", ["hotel"], True),
    ("SCJG", "TZ", "销售的瓶装液化石油气是否由取得充装许可的单位充装，气瓶是否在检验有效期内",
     f"{SEL}第四十九条", ["gas"], True),
    # --- 市场监管: 成品油 ----------------------------------------------------
    ("SCJG", "CPY", "销售的成品油质量是否符合国家标准，是否留存进货质量检验报告",
     "《中华人民共和国产品质量法》", ["fuel_retail"], True),
    ("SCJG", "CPY", "加油机铅封是否完好，是否存在改动计量器具或安装作弊装置",
     "《中华人民共和国计量法》", ["fuel_retail"], True),
    # --- 市场监管: 预付卡消费 ------------------------------------------------
    ("SCJG", "YFK", "办卡合同是否存在“余额不退”“最终解释权归商家”等不公平格式条款",
     "《中华人民共和国消费者权益保护法》第二十六条", ["prepaid_cards"], True),
    ("SCJG", "YFK", "以预收款方式提供服务的，是否按约定提供服务，未按约定提供的是否按要求退还预付款",
     "《中华人民共和国消费者权益保护法》第五十三条", ["prepaid_cards"], False),
    ("SCJG", "YFK", "办卡促销宣传是否真实，是否存在虚假或引人误解的商业宣传",
     "《中华人民共和国反不正当竞争法》第八条", ["prepaid_cards"], True),
    # --- 市场监管: 药品零售 --------------------------------------------------
    ("SCJG", "YP", "药品经营许可证是否在有效期内，经营地址、经营范围与许可一致",
     f"{DAL}第五十一条", ["pharmacy"], True),
    ("SCJG", "YP", "是否配备依法经过资格认定的药师或其他药学技术人员并在岗履职",
     f"{DAL}第五十二条", ["pharmacy"], True),
    ("SCJG", "YP", "处方药是否凭处方销售，调配处方是否经过核对",
     f"{DAL}第五十八条", ["pharmacy"], True),
    ("SCJG", "YP", "是否执行进货检查验收制度，购销记录是否真实、完整",
     f"{DAL}第五十六条、第五十七条", ["pharmacy"], False),
    ("SCJG", "YP", "药品储存、养护是否符合要求，冷藏药品温湿度记录是否完整",
     f"{DAL}第五十九条", ["pharmacy"], True),
    ("SCJG", "YP", "经营第二类医疗器械是否按规定办理备案",
     "《医疗器械监督管理条例》", ["pharmacy"], False),
    # --- 消防救援: 通用 ------------------------------------------------------
    ("XFJY", "TY", "灭火器等消防器材是否按标准配置、完好有效并在有效期内",
     f"{FPL}第十六条", [], True),
    ("XFJY", "TY", "疏散通道、安全出口是否畅通，有无占用、堵塞、封闭",
     f"{FPL}第二十八条", [], True),
    ("XFJY", "TY", "电气线路、燃气管路的设计、敷设是否符合消防技术标准，有无私拉乱接",
     f"{FPL}第二十七条", [], True),
    ("XFJY", "TY", "生产、储存、经营场所与居住场所设置在同一建筑物内的，是否符合消防技术标准（“三合一”）",
     f"{FPL}第十九条",
     ["catering", "rental_housing", "hazardous_chemicals", "gas", "pharmacy",
      "auto_repair", "prepaid_cards"], True),
    ("XFJY", "TY", "建筑消防设施是否每年全面检测并定期维护保养，记录是否完整",
     f"{FPL}第十六条", ["hotel", "supermarket", "hazardous_chemicals", "gas"], False),
    ("XFJY", "TY", "公众聚集场所投入使用、营业前是否依法通过消防安全检查（或作出告知承诺）",
     f"{FPL}第十五条", ["hotel", "supermarket", "prepaid_cards"], False),
    ("XFJY", "TY", "人员密集场所门窗是否设置影响逃生和灭火救援的障碍物（如固定防盗网）",
     f"{FPL}第二十八条",
     ["catering", "hotel", "supermarket", "rental_housing", "prepaid_cards"], True),
    ("XFJY", "TY", "厨房排油烟管道是否定期清洗，有无油污积聚",
     FPL, ["catering"], True),
    ("XFJY", "TY", "是否存在电动自行车在楼道、疏散通道、安全出口停放或室内充电",
     FPL, ["rental_housing"], True),
    # --- 生态环境 ------------------------------------------------------------
    ("STHJ", "CY", "排放油烟的是否安装油烟净化设施并保持正常使用",
     f"{APL}第八十一条", ["catering"], True),
    ("STHJ", "CY", "油烟净化设施是否定期清洗维护，维护记录是否完整",
     APL, ["catering"], False),
    ("STHJ", "CY", "是否在居民住宅楼、未配套专用烟道的商住综合楼等禁止区域新建、改建、扩建产生油烟的餐饮项目",
     f"{APL}第八十一条", ["catering"], True),
    ("STHJ", "CPY", "加油站是否按规定安装油气回收装置并保持正常使用",
     f"{APL}第四十七条", ["fuel_retail"], True),
    ("STHJ", "CPY", "地下油罐是否为双层罐或设置防渗池，是否开展防渗漏监测",
     "《中华人民共和国水污染防治法》", ["fuel_retail"], True),
    ("STHJ", "CPY", "油气回收系统是否按规定定期检测，检测报告是否留存",
     APL, ["fuel_retail"], False),
    ("STHJ", "WF", "废机油、含油抹布、油泥等危险废物是否分类收集、规范贮存并设置识别标志",
     SWL, ["fuel_retail", "auto_repair"], True),
    ("STHJ", "WF", "危险废物是否交由持有许可证的单位处置并执行转移联单制度",
     SWL, ["auto_repair"], False),
    ("STHJ", "QX", "喷漆等产生挥发性有机物废气的作业是否在密闭空间进行并安装污染防治设施",
     f"{APL}第四十五条", ["auto_repair"], True),
    ("STHJ", "QX", "洗车、维修废水是否经隔油沉淀处理，有无直排",
     "《中华人民共和国水污染防治法》", ["auto_repair"], True),
    # --- 应急管理 ------------------------------------------------------------
    ("YJGL", "TY", "是否对从业人员开展安全生产教育和培训并建立培训档案",
     f"{WSL}第二十八条", [], False),
    ("YJGL", "TY", "是否建立并落实事故隐患排查治理制度，如实记录隐患排查治理情况",
     f"{WSL}第四十一条", [], False),
    ("YJGL", "CY", "使用燃气的是否安装可燃气体报警装置并保障其正常使用",
     f"{WSL}第三十六条", ["catering"], True),
    ("YJGL", "WH", "危险化学品经营许可证是否在有效期内，经营品种与许可范围一致",
     f"{HCR}第三十三条", ["hazardous_chemicals", "fuel_retail"], True),
    ("YJGL", "WH", "主要负责人和安全生产管理人员是否经安全生产知识和管理能力考核合格",
     f"{WSL}第二十七条", ["hazardous_chemicals", "fuel_retail"], True),
    ("YJGL", "WH", "危险化学品是否储存在专用仓库、专用场地或专用储存室内，并由专人负责管理",
     f"{HCR}第二十四条", ["hazardous_chemicals"], True),
    ("YJGL", "WH", "经营的危险化学品是否附有化学品安全技术说明书和化学品安全标签",
     f"{HCR}第三十七条", ["hazardous_chemicals"], True),
    ("YJGL", "CPY", "卸油作业是否执行静电接地、专人监护等安全操作规程",
     WSL, ["fuel_retail"], True),
    ("YJGL", "CPY", "是否制定生产安全事故应急救援预案并定期组织演练",
     f"{WSL}第八十一条", ["fuel_retail"], False),
    # --- 公安 ----------------------------------------------------------------
    ("GA", "WH", "销售剧毒化学品、易制爆危险化学品是否如实记录购买单位、品种、数量、用途，记录保存不少于1年",
     f"{HCR}第四十一条", ["hazardous_chemicals"], False),
    ("GA", "WH", "剧毒化学品、易制爆危险化学品销售后是否在5日内向县级公安机关备案",
     f"{HCR}第四十一条", ["hazardous_chemicals"], False),
    ("GA", "WH", "是否查验购买单位的许可证件或证明文件，有无向不具备条件的单位或个人销售",
     f"{HCR}第四十条", ["hazardous_chemicals"], False),
    ("GA", "WH", "易制爆危险化学品是否专库（专柜）储存、双人双锁，技防设施是否正常运行",
     "《易制爆危险化学品治安管理办法》", ["hazardous_chemicals"], True),
    ("GA", "ZF", "出租人是否向公安机关办理出租房屋登记，签订治安责任保证书",
     "《租赁房屋治安管理规定》", ["rental_housing"], False),
    ("GA", "ZF", "是否登记承租人姓名、身份证件等信息并按规定报送流动人口信息",
     "《租赁房屋治安管理规定》", ["rental_housing"], False),
    ("GA", "ZF", "发现承租人有违法犯罪活动或嫌疑的，出租人是否及时报告公安机关",
     "《租赁房屋治安管理规定》", ["rental_housing"], False),
    ("GA", "LG", "是否取得特种行业许可证并在有效期内",
     HOTEL, ["hotel"], True),
    ("GA", "LG", "接待旅客住宿是否查验身份证件、如实登记并按规定上传住宿信息",
     f"{HOTEL}第六条；《中华人民共和国反恐怖主义法》第二十一条", ["hotel"], True),
    ("GA", "LG", "是否设置旅客财物保管箱（柜）并建立贵重物品登记保管制度",
     HOTEL, ["hotel"], True),
    ("GA", "LG", "视频监控系统是否覆盖出入口、大堂、走道等重点部位并正常运行",
     "《企业事业单位内部治安保卫条例》", ["hotel"], True),
    ("GA", "QX", "是否对承修车辆进行承修登记，如实登记车辆号牌、车架号及送修人身份信息",
     "《机动车修理业、报废机动车回收业治安管理办法》", ["auto_repair"], False),
    ("GA", "QX", "发现有肇事嫌疑、车辆识别代号被凿改等可疑车辆是否及时报告公安机关",
     "《机动车修理业、报废机动车回收业治安管理办法》", ["auto_repair"], False),
    ("GA", "QX", "是否存在无相关手续擅自改变车身颜色、更换发动机或车架的情况",
     "《机动车修理业、报废机动车回收业治安管理办法》", ["auto_repair"], True),
    # --- 卫生健康 ------------------------------------------------------------
    ("WSJK", "LG", "是否取得公共场所卫生许可证并在有效期内公示",
     PHR, ["hotel"], True),
    ("WSJK", "LG", "直接为顾客服务的从业人员是否取得有效健康合格证明",
     PHR, ["hotel"], True),
    ("WSJK", "LG", "床上用品、毛巾、杯具等顾客用品用具是否一客一换一消毒",
     "《公共场所卫生管理条例实施细则》", ["hotel"], True),
    ("WSJK", "LG", "是否按规定开展公共场所卫生检测（空气、水质）并公示检测结果",
     "《公共场所卫生管理条例实施细则》", ["hotel"], False),
    ("WSJK", "YP", "是否存在未取得医疗机构执业许可擅自开展诊疗活动（坐堂行医、输液、注射等）",
     "《医疗机构管理条例》", ["pharmacy"], True),
    ("WSJK", "YP", "店内坐诊人员是否取得医师资格并依法注册执业",
     "《中华人民共和国医师法》", ["pharmacy"], True),
    ("WSJK", "YP", "是否张贴、散发未经审查或内容违规的医疗广告",
     "《医疗广告管理办法》", ["pharmacy"], True),
    # --- 住房城乡建设 --------------------------------------------------------
    ("ZJ", "RQ", "是否取得燃气经营许可证并在有效期内，经营区域与许可一致",
     f"{GASR}第十五条", ["gas"], True),
    ("ZJ", "RQ", "是否向未取得燃气经营许可证的单位或个人提供用于经营的燃气",
     f"{GASR}第十八条", ["gas"], False),
    ("ZJ", "RQ", "是否为非自有气瓶充装燃气或销售他人充装的非自有气瓶",
     f"{GASR}第十八条", ["gas"], True),
    ("ZJ", "RQ", "瓶装燃气储存场所是否具备通风、防爆等安全条件，储存量是否超限",
     f"{GASR}第十八条", ["gas"], True),
    ("ZJ", "RQ", "是否对用户燃气设施定期进行入户安全检查并指导安全用气，检查记录是否完整",
     f"{GASR}第十七条", ["gas"], False),
    ("ZJ", "ZF", "用于经营出租的自建房是否完成房屋安全隐患排查或安全鉴定",
     "《国务院办公厅关于印发全国自建房安全专项整治工作方案的通知》", ["rental_housing"], True),
    ("ZJ", "ZF", "是否存在擅自加层、改扩建或拆改承重墙体等改变主体结构的行为",
     "《建设工程质量管理条例》", ["rental_housing"], True),
    ("ZJ", "ZF", "房屋有无墙体开裂、结构变形、地基沉降等明显安全隐患",
     "《国务院办公厅关于印发全国自建房安全专项整治工作方案的通知》", ["rental_housing"], True),
    ("ZJ", "ZF", "是否以原设计房间为最小出租单位，厨房、卫生间、阳台有无出租供人居住",
     "《商品房屋租赁管理办法》", ["rental_housing"], True),
    ("ZJ", "ZF", "房屋租赁合同是否按规定办理登记备案",
     "《中华人民共和国城市房地产管理法》", ["rental_housing"], False),
    # --- 商务 ----------------------------------------------------------------
    ("SW", "CPY", "是否取得成品油零售经营批准证书并在有效期内",
     "《国务院对确需保留的行政审批项目设定行政许可的决定》（国务院令第412号）",
     ["fuel_retail"], True),
    ("SW", "CPY", "成品油是否从具有合法经营资质的企业购进，进货凭证和购销台账是否完整",
     "商务主管部门成品油流通管理有关规定", ["fuel_retail"], False),
    ("SW", "CPY", "是否存在站外流动销售或使用非法加油车（罐）销售成品油",
     "商务主管部门成品油流通管理有关规定", ["fuel_retail"], True),
    ("SW", "YFK", "发行单用途预付卡的，是否在开展业务之日起30日内向商务主管部门备案",
     f"{PPC}第七条", ["prepaid_cards", "supermarket"], False),
    ("SW", "YFK", "是否公示或向购卡人提供单用途卡章程，或与购卡人签订协议",
     f"{PPC}第十四条", ["prepaid_cards"], True),
    ("SW", "YFK", "单张记名卡是否不超过5000元、不记名卡是否不超过1000元",
     PPC, ["prepaid_cards", "supermarket"], True),
    ("SW", "YFK", "购买记名卡或一次性购卡1万元（含）以上的，是否落实实名登记",
     PPC, ["prepaid_cards"], False),
    ("SW", "YFK", "是否按规定对预收资金实行存管，存管资金比例是否达到要求",
     PPC, ["prepaid_cards"], False),
    ("SW", "SC", "是否对塑料购物袋实行有偿使用并明码标价",
     "《商品零售场所塑料购物袋有偿使用管理办法》", ["supermarket"], True),
    ("SW", "SC", "开展促销活动是否明示促销内容、期限及规则，有无先提价后打折",
     "《零售商促销行为管理办法》", ["supermarket"], True),
    # --- 交通运输 ------------------------------------------------------------
    ("JT", "WH", "自有车辆配送危险货物的，是否取得危险货物道路运输许可",
     f"{HCR}第四十三条", ["hazardous_chemicals", "gas"], True),
    ("JT", "WH", "危险货物运输车辆驾驶人员、押运人员是否取得从业资格",
     f"{HCR}第四十四条", ["hazardous_chemicals", "gas"], True),
    ("JT", "WH", "危险货物运输车辆是否按规定悬挂、喷涂警示标志并配备应急处理器材",
     "《危险货物道路运输安全管理办法》", ["hazardous_chemicals", "gas"], True),
    ("JT", "QX", "是否按规定向交通运输主管部门办理机动车维修经营备案",
     f"《中华人民共和国道路运输条例》；{MVR}", ["auto_repair"], False),
    ("JT", "QX", "是否在经营场所公示维修工时定额、收费标准和主要配件价格",
     MVR, ["auto_repair"], True),
    ("JT", "QX", "维修竣工是否签发竣工出厂合格证并建立维修档案",
     MVR, ["auto_repair"], False),
    ("JT", "QX", "是否使用假冒伪劣配件维修机动车",
     MVR, ["auto_repair"], True),
]

HANDBOOKS = [
    # industry, lead, departments (lead first)
    ("catering", ["SCJG", "XFJY", "STHJ", "YJGL"]),
    ("fuel_retail", ["SW", "YJGL", "SCJG", "STHJ"]),
    ("pharmacy", ["SCJG", "WSJK", "XFJY"]),
    ("hazardous_chemicals", ["YJGL", "GA", "XFJY", "JT"]),
    ("gas", ["ZJ", "SCJG", "XFJY", "JT"]),
    ("rental_housing", ["ZJ", "GA", "XFJY"]),
    ("prepaid_cards", ["SW", "SCJG", "XFJY"]),
    ("supermarket", ["SCJG", "SW", "XFJY"]),
    ("hotel", ["GA", "WSJK", "XFJY", "SCJG"]),
    ("auto_repair", ["JT", "STHJ", "XFJY", "GA"]),
]

# ---------------------------------------------------------------------------
# Subjects
# ---------------------------------------------------------------------------

# industry: (count, risk propensity, share registered as enterprise)
SUBJECT_MIX = {
    "catering": (55, 0.45, 0.15),
    "supermarket": (30, 0.30, 0.25),
    "rental_housing": (25, 0.55, 0.10),
    "pharmacy": (20, 0.35, 0.60),
    "prepaid_cards": (20, 0.45, 0.35),
    "hotel": (18, 0.45, 0.40),
    "auto_repair": (13, 0.45, 0.40),
    "fuel_retail": (8, 0.60, 1.00),
    "gas": (6, 0.80, 1.00),
    "hazardous_chemicals": (5, 0.85, 1.00),
}
RISK_QUOTA = [("D", 20), ("C", 40), ("B", 80), ("A", 60)]  # 10/20/40/30 %

# weighted towards surnames common in 赣南 (钟 谢 曾 赖 刘 ...)
SURNAMES = "刘刘李李王张陈陈黄钟钟谢谢曾曾肖罗赖赖廖邱温胡朱邓郭杨吴徐何蔡卢叶彭林池严宋"
GIVEN_1 = "伟强军勇明华平斌俊杰涛磊鹏辉峰超波飞亮红芳英兰娟敏静丽燕霞萍玲"
GIVEN_2 = [
    "建国", "志明", "小红", "春花", "海军", "国华", "文忠", "永福", "桂英", "秀兰",
    "晓燕", "冬梅", "金生", "水生", "福生", "德明", "荣华", "美玲", "丽华", "家乐",
    "子豪", "思远", "雨欣", "佳怡", "俊峰", "振华", "新民", "玉兰", "爱华", "春生",
    "远航", "宏伟", "宇轩", "梦婷", "欣怡", "天佑", "文辉", "丽萍", "海燕", "国庆",
]

TRADE_NAMES = [
    "鸿福", "兴旺", "嘉禾", "恒泰", "金桥", "华鑫", "永盛", "福临", "瑞丰", "德润",
    "聚源", "天和", "宏达", "锦程", "盛世", "安康", "康宁", "百佳", "惠民", "佳家",
    "客家", "赣南", "章江", "贡水", "梅岭", "青溪", "福满", "金源", "好运", "顺发",
    "富源", "信和", "益民", "万家", "如意", "吉祥", "和顺", "丰泰", "源丰", "新旺",
    "同心", "红都", "橙乡", "翠微", "春晖", "东升", "乐家", "诚信", "鑫达", "金穗",
]

TOWNS = [
    # name, north km, east km (offset of the township seat from the county seat)
    ("梅林镇", 8.0, 6.0),
    ("龙口镇", -10.0, 4.0),
    ("石门乡", 3.0, -12.0),
    ("长岭乡", -6.0, -9.0),
    ("白鹭镇", 14.0, -3.0),
]
SEAT_ROADS = [
    "人民路", "解放路", "建设路", "青溪大道", "滨江路", "新华路", "文化路", "红旗大道",
    "长征路", "胜利路", "和平路", "站前路", "东门路", "西街", "南门街", "北门路",
    "健康路", "长安路", "阳明路", "沿河路",
]
SEAT_COMMUNITIES = ["城东社区", "城南社区", "城西社区", "城北社区", "河背社区", "江口村"]
ESTATES = ["锦绣花园", "滨江华府", "阳光新城", "金色家园", "东方明珠小区", "城南新村"]
PARK_ROADS = ["工业园区创业大道", "工业园区兴业路", "工业园区园区一路"]
HIGHWAY = ["S223省道", "S326省道", "县道X301", "县道X305"]
VILLAGES = ["上坪", "下坝", "塘背", "水口", "新屋", "坳背", "石桥", "大塘"]

CATERING_KINDS = [
    ("土菜馆", False), ("饭店", False), ("小吃店", False), ("米粉店", True),
    ("腌面馆", False), ("鱼饼店", False), ("擂茶馆", False), ("早餐店", True),
    ("奶茶店", False), ("烧烤店", False), ("快餐店", False), ("瓦罐汤馆", True),
    ("火锅店", False), ("大排档", False), ("面馆", True),
]
CATERING_ENT = ["酒楼有限公司", "餐饮管理有限公司", "餐饮服务有限公司"]
SUPER_KINDS = ["超市", "便利店", "生活超市", "副食店", "食杂店", "百货店"]
SUPER_ENT = ["购物广场有限公司", "商贸有限公司", "超市有限公司"]
RENTAL_KINDS = ["公寓", "青年公寓", "出租屋", "租房中心"]
PHARMACY_KINDS = ["大药房", "药店", "大药房有限公司"]
PREPAID_KINDS = [
    "美容美发店", "理发店", "健身馆", "瑜伽馆", "洗车行", "干洗店", "游泳馆",
    "养生馆", "母婴生活馆", "文化艺术培训中心",
]
PREPAID_ENT = ["健身管理有限公司", "美容服务有限公司", "文化传播有限公司"]
HOTEL_KINDS = ["宾馆", "旅馆", "商务酒店", "民宿", "招待所"]
HOTEL_ENT = ["酒店有限公司", "酒店管理有限公司"]
AUTO_KINDS = ["汽车维修服务部", "汽修厂", "摩托车维修店", "汽车修理厂"]
AUTO_ENT = ["汽车服务有限公司", "汽车维修有限公司"]
# 危险化学品经营许可 is granted to enterprises only (条例第三十四条)
HAZ_ENT = ["化工贸易有限公司", "化工有限公司", "工业气体有限公司", "涂料化工有限公司"]


class Gen:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.names: set[str] = set()
        self.usccs: set[str] = set()
        self.addresses: set[str] = set()

    # -- people --------------------------------------------------------------
    def person(self) -> str:
        r = self.rng
        surname = r.choice(SURNAMES)
        if r.random() < 0.35:
            return surname + r.choice(GIVEN_1)
        return surname + r.choice(GIVEN_2)

    # -- codes ---------------------------------------------------------------
    def org_body(self, modern: bool) -> str:
        r = self.rng
        if modern:
            pool = USCC_ALPHABET  # letters already exclude I O Z S V
            return "MA3" + r.choice("5678") + "".join(r.choice(pool) for _ in range(4))
        return r.choice("3567") + "".join(r.choice("0123456789") for _ in range(7))

    def uscc(self, enterprise: bool) -> str:
        while True:
            modern = (not enterprise) or self.rng.random() < 0.7
            body = self.org_body(modern)
            org = body + org_check_char(body)
            first17 = ("91" if enterprise else "92") + DIVISION_CODE + org
            code = first17 + uscc_check_char(first17)
            if code not in self.usccs:
                self.usccs.add(code)
                return code

    # -- places --------------------------------------------------------------
    @staticmethod
    def offset(north_km: float, east_km: float) -> tuple[float, float]:
        lat = CENTER_LAT + north_km / 111.32
        lon = CENTER_LON + east_km / (111.32 * math.cos(math.radians(CENTER_LAT)))
        return round(lat, 6), round(lon, 6)

    def around(self, north_km: float, east_km: float, radius_km: float) -> tuple[float, float]:
        r = self.rng
        d = radius_km * math.sqrt(r.random())
        a = r.random() * 2 * math.pi
        return self.offset(north_km + d * math.sin(a), east_km + d * math.cos(a))

    def seat_address(self, shopfront: bool) -> str:
        r = self.rng
        while True:
            if shopfront and r.random() < 0.2:
                addr = f"{COUNTY}{r.choice(SEAT_ROADS)}{r.choice(ESTATES)}{r.randint(1, 18)}栋{r.randint(1, 12)}号店面"
            else:
                addr = f"{COUNTY}{r.choice(SEAT_ROADS)}{r.randint(1, 320)}号"
            if addr not in self.addresses:
                self.addresses.add(addr)
                return addr

    def town_address(self, town: str, village: bool) -> str:
        r = self.rng
        short = town[:-1]
        while True:
            if village:
                addr = f"{COUNTY}{town}{short}村{r.choice(VILLAGES)}组{r.randint(1, 60)}号"
            else:
                addr = f"{COUNTY}{town}{short}圩镇{r.choice(['新街', '老街', '中山街', '河堤路'])}{r.randint(1, 150)}号"
            if addr not in self.addresses:
                self.addresses.add(addr)
                return addr

    def place(self, industry: str) -> tuple[str, tuple[float, float], str]:
        """Returns (address, (lat, lon), place short name for branch names)."""
        r = self.rng
        if industry == "fuel_retail":
            town, n, e = r.choice(TOWNS)
            # on a road between the seat and a township
            t = r.uniform(0.25, 0.9)
            lat, lon = self.around(n * t, e * t, 0.4)
            addr = f"{COUNTY}{town}{r.choice(HIGHWAY)}旁"
            while addr in self.addresses:
                addr = f"{COUNTY}{town}{r.choice(HIGHWAY)}{r.randint(1, 30)}公里处"
            self.addresses.add(addr)
            return addr, (lat, lon), town[:-1]
        if industry in ("hazardous_chemicals", "gas") and r.random() < 0.6:
            lat, lon = self.around(-2.0, 4.0, 1.0)
            addr = f"{COUNTY}{r.choice(PARK_ROADS)}{r.randint(1, 99)}号"
            while addr in self.addresses:
                addr = f"{COUNTY}{r.choice(PARK_ROADS)}{r.randint(1, 99)}号"
            self.addresses.add(addr)
            return addr, (lat, lon), "工业园"
        if r.random() < 0.68:
            if industry == "rental_housing" and r.random() < 0.5:
                comm = r.choice(SEAT_COMMUNITIES)
                addr = f"{COUNTY}青溪镇{comm}{r.choice(['东门巷', '后街', '新村', '上街'])}{r.randint(1, 90)}号"
                while addr in self.addresses:
                    addr = f"{COUNTY}青溪镇{comm}{r.choice(['东门巷', '后街', '新村', '上街'])}{r.randint(1, 90)}号"
                self.addresses.add(addr)
            else:
                addr = self.seat_address(industry not in ("hazardous_chemicals", "gas"))
            return addr, self.around(0.0, 0.0, 3.5), r.choice(["城东", "城南", "城西", "城北"])
        town, n, e = r.choice(TOWNS)
        village = industry == "rental_housing" or r.random() < 0.15
        return self.town_address(town, village), self.around(n, e, 1.2), town[:-1]

    # -- names ---------------------------------------------------------------
    def unique(self, make) -> str:
        for _ in range(1000):
            name = make()
            if name not in self.names:
                self.names.add(name)
                return name
        fail("could not find a unique subject name")
        return ""

    def subject_name(self, industry: str, enterprise: bool, rep: str, place: str) -> str:
        r = self.rng
        tn = lambda: r.choice(TRADE_NAMES)  # noqa: E731
        sur = rep[0]
        if industry == "catering":
            if enterprise:
                return self.unique(lambda: f"{COUNTY}{tn()}{r.choice(CATERING_ENT)}")

            def make():
                kind, family = r.choice(CATERING_KINDS)
                head = f"{sur}记" if family and r.random() < 0.6 else tn()
                return f"{COUNTY}{head}{kind}"
            return self.unique(make)
        if industry == "supermarket":
            if enterprise:
                return self.unique(lambda: f"{COUNTY}{tn()}{r.choice(SUPER_ENT)}")
            return self.unique(lambda: f"{COUNTY}{tn()}{r.choice(SUPER_KINDS)}")
        if industry == "rental_housing":
            if enterprise:
                return self.unique(lambda: f"{COUNTY}{tn()}住房租赁有限公司")

            def make():
                kind = r.choice(RENTAL_KINDS)
                head = f"{sur}氏" if kind == "出租屋" else tn()
                return f"{COUNTY}{head}{kind}"
            return self.unique(make)
        if industry == "pharmacy":
            if enterprise and r.random() < 0.5:
                return self.unique(
                    lambda: f"江西{tn()}大药房连锁有限公司青溪{place}店")
            return self.unique(lambda: f"{COUNTY}{tn()}{r.choice(PHARMACY_KINDS)}")
        if industry == "prepaid_cards":
            if enterprise:
                return self.unique(lambda: f"{COUNTY}{tn()}{r.choice(PREPAID_ENT)}")
            return self.unique(lambda: f"{COUNTY}{tn()}{r.choice(PREPAID_KINDS)}")
        if industry == "hotel":
            if enterprise:
                return self.unique(lambda: f"{COUNTY}{tn()}{r.choice(HOTEL_ENT)}")
            return self.unique(lambda: f"{COUNTY}{tn()}{r.choice(HOTEL_KINDS)}")
        if industry == "auto_repair":
            if enterprise:
                return self.unique(lambda: f"{COUNTY}{tn()}{r.choice(AUTO_ENT)}")
            return self.unique(lambda: f"{COUNTY}{tn()}{r.choice(AUTO_KINDS)}")
        if industry == "fuel_retail":
            def make():
                k = r.random()
                if k < 0.4:
                    return f"{COUNTY}{place}加油站有限公司"
                if k < 0.75:
                    return f"{COUNTY}{tn()}石油有限公司{place}加油站"
                return f"江西赣州{tn()}能源有限公司青溪{place}加油站"
            return self.unique(make)
        if industry == "gas":
            def make():
                k = r.random()
                if k < 0.35:
                    return f"{COUNTY}{tn()}燃气有限公司"
                if k < 0.7:
                    return f"{COUNTY}{tn()}液化石油气有限公司{place}液化气供应站"
                return f"{COUNTY}{place}液化气供应站有限公司"
            return self.unique(make)
        if industry == "hazardous_chemicals":
            return self.unique(lambda: f"{COUNTY}{tn()}{r.choice(HAZ_ENT)}")
        fail(f"no name rule for industry {industry}")
        return ""


# The township (乡镇) of each inspector's residence, in turn.
RESIDENCES = ["青溪镇", "白鹭镇", "青溪镇", "梅林镇", "龙口镇", "青溪镇", "石门乡"]


def township_of(address: str) -> str:
    """The township an address lies in: one of TOWNS, else the county seat's."""
    rest = address[len(COUNTY):]
    for town, _, _ in TOWNS:
        if rest.startswith(town):
            return town
    return "青溪镇"


def build_subjects(rng: random.Random) -> list[dict]:
    gen = Gen(rng)
    drafts = []
    for industry, (count, propensity, ent_share) in SUBJECT_MIX.items():
        for _ in range(count):
            enterprise = rng.random() < ent_share
            rep = gen.person()
            address, (lat, lon), place = gen.place(industry)
            name = gen.subject_name(industry, enterprise, rep, place)
            # names ending in 有限公司 / 分支机构 of a 公司 are enterprises
            if "有限公司" in name:
                enterprise = True
            elif enterprise:
                enterprise = False  # individual-style name: register as 个体工商户
            score = propensity + rng.gauss(0.0, 0.22)
            drafts.append({
                "uscc": gen.uscc(enterprise),
                "name": name,
                "address": address,
                "industry": industry,
                "risk_class": None,
                "location": {"lat": lat, "lon": lon},
                "legal_rep": rep,
                "_score": score,
            })
    order = sorted(range(len(drafts)), key=lambda i: (-drafts[i]["_score"], i))
    pos = 0
    for cls, n in RISK_QUOTA:
        for i in order[pos:pos + n]:
            drafts[i]["risk_class"] = cls
        pos += n
    for d in drafts:
        del d["_score"]
    return drafts


# ---------------------------------------------------------------------------
# Assembly and checks
# ---------------------------------------------------------------------------


def build_items() -> list[dict]:
    counters: dict[tuple[str, str], int] = {}
    items = []
    for dept, group, title, basis, industries, evidence in ITEMS:
        n = counters.get((dept, group), 0) + 1
        counters[(dept, group)] = n
        items.append({
            "id": f"{dept}-{group}-{n:03d}",
            "department": dept,
            "title": title,
            "legal_basis": basis,
            "industries": list(industries),
            "requires_evidence": evidence,
        })
    return items


def build_handbooks(items: list[dict]) -> list[dict]:
    out = []
    for industry, depts in HANDBOOKS:
        chosen = [
            it["id"] for d in depts for it in items
            if it["department"] == d and (not it["industries"] or industry in it["industries"])
        ]
        out.append({
            "industry": industry,
            "departments": list(depts),
            "lead_department": depts[0],
            "items": chosen,
        })
    return out


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def verify(data: dict[str, list[dict]]) -> None:
    depts = {d["code"] for d in data["departments"]}
    check(len(depts) == len(data["departments"]), "duplicate department code")
    inds = {i["code"] for i in data["industries"]}
    check(len(inds) == len(data["industries"]), "duplicate industry code")
    for req in ("SCJG", "STHJ", "YJGL", "XFJY", "WSJK", "ZJ", "SW", "GA", "JT"):
        check(req in depts, f"department {req} missing")
    for req in ("catering", "fuel_retail", "pharmacy", "hazardous_chemicals", "gas",
                "rental_housing", "prepaid_cards", "supermarket", "hotel"):
        check(req in inds, f"industry {req} missing")

    teams = {t["id"]: t for t in data["teams"]}
    check(len(teams) == len(data["teams"]), "duplicate team id")
    check({t["kind"] for t in teams.values()} == {"township_squad", "county_team"},
          "need one township_squad and one county_team")
    for t in teams.values():
        for d in t["departments"]:
            check(d in depts, f"team {t['id']}: unknown department {d}")
        check(len(set(t["departments"])) == len(t["departments"]), f"team {t['id']}: duplicate dept")

    insp = data["inspectors"]
    check(12 <= len(insp) <= 14, "12-14 inspectors expected")
    check(len({i["id"] for i in insp}) == len(insp), "duplicate inspector id")
    check(len({i["name"] for i in insp}) == len(insp), "duplicate inspector name")
    badges = [i["badge_no"] for i in insp]
    check(len(set(badges)) == len(badges), "duplicate badge number")
    for i in insp:
        check(len(i["badge_no"]) == 11 and i["badge_no"].isdigit(), f"bad badge {i['badge_no']}")
        check(i["department"] in depts, f"inspector {i['id']}: unknown department")
        check(i["team"] in teams, f"inspector {i['id']}: unknown team")
        check(i["department"] in teams[i["team"]]["departments"],
              f"inspector {i['id']}: department not in team")
    for t in teams.values():
        members = [i for i in insp if i["team"] == t["id"]]
        covered = {i["department"] for i in members}
        check(covered == set(t["departments"]), f"team {t['id']}: departments without inspectors")
        if t["kind"] == "township_squad":
            check(len(members) >= 5, "township squad needs at least 5 inspectors")
        else:
            check(set(t["departments"]) == depts, "county team must span all departments")

    subs = data["subjects"]
    check(len(subs) == N_SUBJECTS, f"expected {N_SUBJECTS} subjects")
    usccs = [s["uscc"] for s in subs]
    check(len(set(usccs)) == len(usccs), "duplicate USCC")
    check(len({s["name"] for s in subs}) == len(subs), "duplicate subject name")
    risk_counts = {c: 0 for c in "ABCD"}
    for s in subs:
        u = s["uscc"]
        check(uscc_valid(u), f"invalid USCC {u}")
        check(org_code_valid(u[8:17]), f"invalid organization code in {u}")
        check(u[:2] in ("91", "92") and u[2:8] == DIVISION_CODE, f"unexpected USCC prefix {u}")
        check((u[:2] == "91") == ("有限公司" in s["name"]), f"USCC kind vs name mismatch: {s['name']}")
        check(s["industry"] in inds, f"subject {u}: unknown industry")
        check(s["risk_class"] in risk_counts, f"subject {u}: bad risk class")
        risk_counts[s["risk_class"]] += 1
        km = haversine_km(CENTER_LAT, CENTER_LON, s["location"]["lat"], s["location"]["lon"])
        check(km <= MAX_RADIUS_KM, f"subject {u} is {km:.1f} km from the county seat")
        check(s["address"].startswith(COUNTY) and s["name"] and s["legal_rep"], f"subject {u}: fields")
    check(risk_counts == {"A": 60, "B": 80, "C": 40, "D": 20}, f"risk spread {risk_counts}")

    items = {it["id"]: it for it in data["items"]}
    check(len(items) == len(data["items"]), "duplicate item id")
    check(80 <= len(items) <= 140, f"item count {len(items)} outside 80..140")
    for it in items.values():
        check(it["department"] in depts, f"item {it['id']}: unknown department")
        check(it["id"].startswith(it["department"] + "-"), f"item {it['id']}: id/department")
        for ind in it["industries"]:
            check(ind in inds, f"item {it['id']}: unknown industry {ind}")
        check(it["title"] and it["legal_basis"], f"item {it['id']}: empty field")

    hbs = data["handbooks"]
    check(sorted(h["industry"] for h in hbs) == sorted(inds), "one handbook per industry")
    used_items: set[str] = set()
    for h in hbs:
        ind = h["industry"]
        check(2 <= len(h["departments"]) <= 4, f"handbook {ind}: 2-4 departments")
        check(h["lead_department"] in h["departments"], f"handbook {ind}: lead not participating")
        check(len(set(h["items"])) == len(h["items"]), f"handbook {ind}: duplicate items")
        per_dept = {d: 0 for d in h["departments"]}
        for d in h["departments"]:
            check(d in depts, f"handbook {ind}: unknown department {d}")
        for iid in h["items"]:
            check(iid in items, f"handbook {ind}: unknown item {iid}")
            it = items[iid]
            check(it["department"] in per_dept, f"handbook {ind}: item {iid} of foreign department")
            check(not it["industries"] or ind in it["industries"],
                  f"handbook {ind}: item {iid} does not apply to the industry")
            per_dept[it["department"]] += 1
            used_items.add(iid)
        for d, n in per_dept.items():
            check(3 <= n <= 6, f"handbook {ind}: department {d} has {n} items (want 3-6)")
    check(used_items == set(items), f"items in no handbook: {sorted(set(items) - used_items)}")
    present = {s["industry"] for s in subs}
    check(present == inds, "every industry should have subjects")


def main() -> None:
    uscc_self_test()
    rng = random.Random(SEED)

    departments = [{"code": c, "name": n, "name_en": e} for c, n, e, _ in DEPARTMENTS]
    badge_dept = {c: b for c, _, _, b in DEPARTMENTS}
    industries = [{"code": c, "name": n, "name_en": e} for c, n, e in INDUSTRIES]
    teams = [dict(t, departments=list(t["departments"])) for t in TEAMS]

    inspectors = []
    serial: dict[str, int] = {}
    for idx, (name, dept, team) in enumerate(INSPECTORS, start=1):
        serial[dept] = serial.get(dept, 0) + 1
        # 6-digit division code + 2-digit department + 3-digit serial = 11 digits
        badge = f"{DIVISION_CODE}{badge_dept[dept]}{serial[dept]:03d}"
        inspectors.append({
            "id": f"I-{idx:03d}",
            "name": name,
            "badge_no": badge,
            "department": dept,
            "team": team,
            # where the inspector lives, for recusal (回避) by township
            "township": RESIDENCES[(idx - 1) % len(RESIDENCES)],
        })

    subjects = build_subjects(rng)
    for s in subjects:
        s["township"] = township_of(s["address"])
    items = build_items()
    handbooks = build_handbooks(items)

    data = {
        "departments": departments,
        "industries": industries,
        "teams": teams,
        "inspectors": inspectors,
        "subjects": subjects,
        "items": items,
        "handbooks": handbooks,
    }
    verify(data)

    for name, value in data.items():
        path = OUT_DIR / f"{name}.json"
        text = json.dumps(value, ensure_ascii=False, indent=2) + "\n"
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.name}: {len(value)} records")


if __name__ == "__main__":
    main()
