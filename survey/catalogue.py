"""The standard renovation items of the 2020 national guideline (国办发〔2020〕23号).

Staff pick from these when creating a survey; the texts are copied into the survey's items and
can then be edited, so changing this list never changes a survey that exists.
"""

from dataclasses import dataclass

from .models import ItemCategory

B, IM, U = ItemCategory.BASIC, ItemCategory.IMPROVEMENT, ItemCategory.UPGRADE


@dataclass(frozen=True)
class CatalogueItem:
    key: str
    category: ItemCategory
    title: str
    title_en: str
    description: str
    description_en: str


CATALOGUE = [
    CatalogueItem(k, c, t, te, d, de)
    for k, c, t, te, d, de in [
        (
            "water",
            B,
            "供水管网改造",
            "Water supply pipes",
            "更换老化供水管道和二次供水设施，解决水压低、水质差。",
            "Replace ageing water pipes and pumping, for steady pressure and clean water.",
        ),
        (
            "drainage",
            B,
            "排水管网改造",
            "Drainage",
            "疏通、更换排水管道，解决堵塞和返水。",
            "Clear and replace drains that block or back up.",
        ),
        (
            "sewage_separation",
            B,
            "雨污分流",
            "Separate rain and sewage",
            "雨水、污水分管排放。",
            "Separate rainwater and sewage pipes.",
        ),
        (
            "power",
            B,
            "供电线路改造",
            "Power lines",
            "更换老化线路，增加容量，线路入地或规整。",
            "Replace old wiring, add capacity, bury or tidy the lines.",
        ),
        (
            "gas",
            B,
            "燃气管道改造",
            "Gas pipes",
            "更换老化燃气管道和设施。",
            "Replace ageing gas pipes and fittings.",
        ),
        (
            "heating",
            B,
            "供热设施改造",
            "Heating",
            "改造供热管网和设施。",
            "Renew heating pipes and equipment.",
        ),
        (
            "telecom",
            B,
            "通信线路规整",
            "Telecom lines",
            "规整“蜘蛛网”式通信线缆。",
            "Tidy the tangle of telecom cables.",
        ),
        (
            "fire_safety",
            B,
            "消防设施改造",
            "Fire safety",
            "完善消防通道、消火栓和灭火器材。",
            "Fire lanes, hydrants and extinguishers that work.",
        ),
        (
            "security",
            B,
            "安防设施",
            "Security",
            "门禁、监控和围墙修缮。",
            "Entry control, cameras and repaired walls.",
        ),
        (
            "roof",
            B,
            "屋面防水",
            "Roof waterproofing",
            "修缮屋面，解决顶层漏水。",
            "Repair the roofs and stop top-floor leaks.",
        ),
        (
            "exterior_walls",
            B,
            "外墙修缮与保温",
            "Exterior walls",
            "修补外墙，加装保温层，消除脱落隐患。",
            "Repair and insulate the walls, remove the risk of falling render.",
        ),
        (
            "stairwells",
            B,
            "楼道改造",
            "Stairwells",
            "楼道粉刷、照明和扶手修缮。",
            "Paint, light and repair handrails in the stairwells.",
        ),
        (
            "illegal_structures",
            IM,
            "拆除违法建设",
            "Remove illegal structures",
            "拆除违章搭建，腾出公共空间。",
            "Take down illegal add-ons and free common space.",
        ),
        (
            "greening",
            IM,
            "小区绿化",
            "Greening",
            "增加和改善绿地。",
            "More and better green space.",
        ),
        (
            "lighting",
            IM,
            "照明改造",
            "Lighting",
            "完善道路和公共区域照明。",
            "Light the paths and common areas.",
        ),
        (
            "parking",
            IM,
            "停车设施",
            "Parking",
            "规划停车位，规范停车秩序。",
            "Lay out parking spaces and order.",
        ),
        (
            "ev_charging",
            IM,
            "电动汽车和电动自行车充电设施",
            "EV and e-bike charging",
            "建设充电设施，减少楼道充电隐患。",
            "Charging points, so nobody charges in the stairwell.",
        ),
        (
            "elevators",
            IM,
            "加装电梯",
            "Elevator retrofit",
            "具备条件的楼栋加装电梯，费用按楼层分摊。",
            "Add elevators where possible, with costs shared by floor.",
        ),
        (
            "age_friendly",
            IM,
            "无障碍和适老化改造",
            "Barrier-free and age-friendly",
            "坡道、扶手、防滑等改造。",
            "Ramps, handrails and non-slip surfaces.",
        ),
        (
            "parcel_lockers",
            IM,
            "智能快件箱",
            "Parcel lockers",
            "设置快件箱。",
            "Lockers for deliveries.",
        ),
        (
            "property_rooms",
            IM,
            "物业用房",
            "Property management rooms",
            "提供物业管理服务用房。",
            "Rooms for the property management service.",
        ),
        (
            "fitness",
            IM,
            "健身设施",
            "Fitness facilities",
            "增设健身器材和活动场地。",
            "Exercise equipment and space.",
        ),
        (
            "elderly_care",
            U,
            "养老服务设施",
            "Elderly care",
            "社区养老服务站、日间照料。",
            "A community elderly care station and day care.",
        ),
        (
            "child_care",
            U,
            "托育设施",
            "Child care",
            "婴幼儿托育服务场所。",
            "A place for infant and toddler care.",
        ),
        (
            "canteen",
            U,
            "社区食堂",
            "Community canteen",
            "方便老人和居民就餐。",
            "Meals for older residents and everyone.",
        ),
        (
            "clinic",
            U,
            "卫生服务站",
            "Health station",
            "社区卫生服务站点。",
            "A community health station.",
        ),
        (
            "service_rooms",
            U,
            "社区综合服务用房",
            "Community service rooms",
            "社区综合服务设施。",
            "Rooms for community services.",
        ),
        (
            "culture",
            U,
            "文化活动室",
            "Culture rooms",
            "阅读、文化活动场所。",
            "Space for reading and cultural activities.",
        ),
    ]
]
BY_KEY = {item.key: item for item in CATALOGUE}
