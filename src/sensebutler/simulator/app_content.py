"""What is inside a simulated app: load script, sheets with charts, master items, variables,
bookmarks, data connections and fields, as the engine (QIX) shows them.

Scenarios do not spell this out; each app gets a small set drawn from a generator seeded with the
app's id, so the same app always has the same content. It is built the first time something asks
(:func:`content_of`) and kept on the site. Property and layout trees follow the engine's shapes
(``qInfo``, ``qMetaDef``/``qMeta``, ``qDim``, ``qMeasure``, ``qChildList`` ...) closely enough for
an app dump, not for rendering.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sensebutler.simulator.ids import guid
from sensebutler.simulator.timefmt import qrs_time

Json = dict[str, Any]

#: engine object types of generic objects (GetObject); the library types have methods of their own
CHART_TYPES = ("barchart", "linechart", "table", "kpi", "piechart", "pivot-table", "combochart", "filterpane")
GENERIC_TYPES = ("sheet", "story", "masterobject", "appprops", *CHART_TYPES)
LIBRARY_TYPES = {
    "dimension": "GenericDimension",
    "measure": "GenericMeasure",
    "variable": "GenericVariable",
    "bookmark": "GenericBookmark",
}

# table -> fields; the load script and the field list are built from the tables an app uses
_TABLES: dict[str, tuple[str, ...]] = {
    "Orders": ("OrderID", "CustomerID", "ProductID", "OrderDate", "Quantity", "Amount"),
    "Customers": ("CustomerID", "CustomerName", "Country", "Segment"),
    "Products": ("ProductID", "ProductName", "Category", "UnitPrice"),
    "Budget": ("Year", "Month", "CostCenter", "BudgetAmount"),
    "Employees": ("EmployeeID", "EmployeeName", "Department", "HireDate"),
    "Shipments": ("ShipmentID", "OrderID", "Carrier", "ShippedDate"),
    "Calls": ("CallID", "AgentID", "CallDate", "DurationSec"),
    "Stock": ("ProductID", "Warehouse", "OnHand"),
}
_CHART_TITLES = (
    "Sales by region",
    "Trend over time",
    "Top customers",
    "Margin",
    "Orders per month",
    "Budget vs actual",
    "Headcount",
    "Open items",
    "Details",
    "Share by category",
)
_SHEET_TITLES = ("Overview", "Details", "Trends", "Customers", "Products", "Finance", "Operations")
_MEASURES = (
    ("Total amount", "Sum(Amount)"),
    ("Order count", "Count(distinct OrderID)"),
    ("Average price", "Avg(UnitPrice)"),
    ("Stock on hand", "Sum(OnHand)"),
    ("Budget", "Sum(BudgetAmount)"),
    ("Call minutes", "Sum(DurationSec)/60"),
)
_VARIABLES = (
    ("vCurrentYear", "=Year(Today())"),
    ("vColorPrimary", "RGB(0,112,192)"),
    ("vThreshold", "1000"),
    ("vLastReload", "=ReloadTime()"),
    ("vCurrency", "EUR"),
)


@dataclass(eq=False)
class QixObject:
    """One object of an app: a generic object (sheet, chart, story ...) or a library item."""

    id: str
    type: str
    properties: Json
    children: list[str] = field(default_factory=list)
    parent: str | None = None
    script_created: bool = False

    @property
    def title(self) -> str:
        meta = self.properties.get("qMetaDef", {})
        return str(meta.get("title", self.properties.get("qName", self.id)))


@dataclass(eq=False)
class AppContent:
    script: str
    objects: dict[str, QixObject]
    tables: dict[str, tuple[str, ...]]
    connections: list[Json]

    def infos(self) -> list[Json]:
        """``GetAllInfos``: every object's ``qId`` and ``qType``."""
        return [{"qId": obj.id, "qType": obj.type} for obj in self.objects.values()]


class _ContentBuilder:
    def __init__(self, app_id: str, app_name: str, created: datetime) -> None:
        self.rng = random.Random(f"qix-content:{app_id}")
        self.app_name = app_name
        self.created = qrs_time(created)
        self.objects: dict[str, QixObject] = {}

    def _id(self) -> str:
        # real object ids are short random strings (``pDJPGx``) for charts and GUIDs for sheets
        return guid(self.rng)

    def _short_id(self) -> str:
        alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
        return "".join(self.rng.choice(alphabet) for _ in range(6))

    def _meta(self, title: str, description: str = "") -> Json:
        return {"title": title, "description": description, "tags": []}

    def add(self, obj: QixObject) -> QixObject:
        self.objects[obj.id] = obj
        return obj

    def build(self) -> AppContent:
        rng = self.rng
        tables = {name: _TABLES[name] for name in rng.sample(sorted(_TABLES), rng.randint(2, 4))}
        fields = [name for columns in tables.values() for name in columns]
        connection = {
            "qId": guid(rng),
            "qName": "DataFiles",
            "qConnectionString": "C:\\ProgramData\\Qlik\\Sense\\Apps\\DataFiles",
            "qType": "folder",
            "qModifiedDate": self.created,
            "qMeta": {"name": "DataFiles"},
        }
        self.add(
            QixObject(
                id="AppPropsObject",
                type="appprops",
                properties={
                    "qInfo": {"qId": "AppPropsObject", "qType": "appprops"},
                    "qMetaDef": {},
                    "sheetTitleBgColor": "#f2f2f2",
                    "sheetTitleColor": "#404040",
                    "sheetLogoPosition": "left",
                },
            )
        )
        for title in rng.sample(_SHEET_TITLES, rng.randint(2, 3)):
            self.sheet(title, fields)
        for _ in range(rng.randint(1, 2)):
            chart = self.chart(rng.choice(("barchart", "kpi", "linechart")), fields, parent=None)
            chart.type = "masterobject"
            chart.properties["qInfo"]["qType"] = "masterobject"
        for name in rng.sample(fields, min(len(fields), rng.randint(3, 5))):
            self.dimension(name)
        for label, expression in rng.sample(_MEASURES, rng.randint(3, 5)):
            self.measure(label, expression)
        for index, (name, definition) in enumerate(rng.sample(_VARIABLES, rng.randint(3, 5))):
            self.variable(name, definition, script_created=index == 0)
        for index in range(rng.randint(1, 2)):
            self.bookmark(f"Bookmark {index + 1}", fields)
        if rng.random() < 0.5:
            self.story(
                "Story of " + self.app_name, [obj.id for obj in self.objects.values() if obj.type == "sheet"]
            )
        return AppContent(
            script=self.script(tables), objects=self.objects, tables=tables, connections=[connection]
        )

    def script(self, tables: dict[str, tuple[str, ...]]) -> str:
        lines = [
            "///$tab Main",
            "SET ThousandSep=',';",
            "SET DecimalSep='.';",
            "SET DateFormat='YYYY-MM-DD';",
            f"// {self.app_name}",
            "",
        ]
        for table, columns in tables.items():
            lines += [
                f"///$tab {table}",
                f"{table}:",
                "LOAD",
                ",\n".join(f"    {column}" for column in columns),
                f"FROM [lib://DataFiles/{table.lower()}.qvd] (qvd);",
                "",
            ]
        return "\r\n".join(lines)

    def sheet(self, title: str, fields: list[str]) -> None:
        sheet_id = self._id()
        sheet = self.add(
            QixObject(
                id=sheet_id,
                type="sheet",
                properties={
                    "qInfo": {"qId": sheet_id, "qType": "sheet"},
                    "qMetaDef": self._meta(title),
                    "rank": len([o for o in self.objects.values() if o.type == "sheet"]),
                    "thumbnail": {"qStaticContentUrlDef": {}},
                    "columns": 24,
                    "rows": 12,
                    "cells": [],
                    "qChildListDef": {"qData": {"title": "/title"}},
                },
            )
        )
        for index in range(self.rng.randint(2, 4)):
            chart = self.chart(self.rng.choice(CHART_TYPES), fields, parent=sheet_id)
            sheet.children.append(chart.id)
            sheet.properties["cells"].append(
                {
                    "name": chart.id,
                    "type": chart.type,
                    "col": (index % 2) * 12,
                    "row": (index // 2) * 6,
                    "colspan": 12,
                    "rowspan": 6,
                }
            )

    def chart(self, chart_type: str, fields: list[str], parent: str | None) -> QixObject:
        chart_id = self._short_id()
        dimension = self.rng.choice(fields)
        label, expression = self.rng.choice(_MEASURES)
        title = self.rng.choice(_CHART_TITLES)
        return self.add(
            QixObject(
                id=chart_id,
                type=chart_type,
                parent=parent,
                properties={
                    "qInfo": {"qId": chart_id, "qType": chart_type},
                    "qMetaDef": {},
                    "visualization": chart_type,
                    "title": title,
                    "subtitle": "",
                    "footnote": "",
                    "showTitles": True,
                    "qHyperCubeDef": {
                        "qDimensions": [{"qDef": {"qFieldDefs": [dimension], "qFieldLabels": [""]}}],
                        "qMeasures": [{"qDef": {"qLabel": label, "qDef": f"={expression}"}}],
                        "qInitialDataFetch": [{"qLeft": 0, "qTop": 0, "qWidth": 2, "qHeight": 50}],
                    },
                },
            )
        )

    def dimension(self, field_name: str) -> None:
        dim_id = self._short_id()
        self.add(
            QixObject(
                id=dim_id,
                type="dimension",
                properties={
                    "qInfo": {"qId": dim_id, "qType": "dimension"},
                    "qDim": {
                        "qGrouping": "N",
                        "qFieldDefs": [field_name],
                        "qFieldLabels": [field_name],
                        "title": field_name,
                    },
                    "qMetaDef": self._meta(field_name),
                },
            )
        )

    def measure(self, label: str, expression: str) -> None:
        measure_id = self._short_id()
        self.add(
            QixObject(
                id=measure_id,
                type="measure",
                properties={
                    "qInfo": {"qId": measure_id, "qType": "measure"},
                    "qMeasure": {
                        "qLabel": label,
                        "qDef": expression,
                        "qGrouping": "N",
                        "qExpressions": [],
                        "qActiveExpression": 0,
                    },
                    "qMetaDef": self._meta(label),
                },
            )
        )

    def variable(self, name: str, definition: str, *, script_created: bool) -> None:
        variable_id = self._id()
        self.add(
            QixObject(
                id=variable_id,
                type="variable",
                script_created=script_created,
                properties={
                    "qInfo": {"qId": variable_id, "qType": "variable"},
                    "qMetaDef": {},
                    "qName": name,
                    "qComment": "",
                    "qNumberPresentation": {"qType": "U", "qnDec": 10, "qUseThou": 0},
                    "qIncludeInBookmark": False,
                    "qDefinition": definition,
                },
            )
        )

    def bookmark(self, title: str, fields: list[str]) -> None:
        bookmark_id = self._id()
        selected = self.rng.choice(fields)
        self.add(
            QixObject(
                id=bookmark_id,
                type="bookmark",
                properties={
                    "qInfo": {"qId": bookmark_id, "qType": "bookmark"},
                    "qMetaDef": self._meta(title),
                    "creationDate": self.created,
                    "qBookmarkSelections": [{"qField": selected, "qSelected": "1"}],
                },
            )
        )

    def story(self, title: str, sheets: list[str]) -> None:
        story_id = self._id()
        self.add(
            QixObject(
                id=story_id,
                type="story",
                properties={
                    "qInfo": {"qId": story_id, "qType": "story"},
                    "qMetaDef": self._meta(title),
                    "rank": 0,
                    "thumbnail": {"qStaticContentUrlDef": {}},
                    "qChildListDef": {"qData": {"title": "/title"}},
                    "sheets": sheets,
                },
            )
        )


def build_app_content(app_id: str, app_name: str, created: datetime) -> AppContent:
    """The content of one app, always the same for the same id."""
    return _ContentBuilder(app_id, app_name, created).build()


# -- layouts: what GetLayout answers for each kind of object -----------------------------------------


def object_meta(obj: QixObject, *, published: bool, owner: Json) -> Json:
    meta = dict(obj.properties.get("qMetaDef", {}))
    meta.update(
        {
            "privileges": ["read", "update", "delete", "exportdata", "publish", "approve"],
            "published": published,
            "approved": False,
            "owner": owner,
        }
    )
    return meta


def object_layout(content: AppContent, obj: QixObject, meta: Json) -> Json:
    """The layout of ``obj``: its properties evaluated (definitions become results)."""
    props = obj.properties
    layout: Json = {key: value for key, value in props.items() if not key.endswith("Def") or key == "qInfo"}
    layout["qInfo"] = dict(props["qInfo"])
    layout["qMeta"] = meta
    layout["qSelectionInfo"] = {}
    if "qChildListDef" in props:
        layout["qChildList"] = {
            "qItems": [
                {
                    "qInfo": {"qId": child, "qType": content.objects[child].type},
                    "qMeta": {},
                    "qData": {"title": content.objects[child].properties.get("title", "")},
                }
                for child in obj.children
            ]
        }
    if "qHyperCubeDef" in props:
        cube = props["qHyperCubeDef"]
        layout["qHyperCube"] = {
            "qSize": {"qcx": len(cube["qDimensions"]) + len(cube["qMeasures"]), "qcy": 0},
            "qDimensionInfo": [
                {"qFallbackTitle": d["qDef"]["qFieldDefs"][0], "qCardinal": 0} for d in cube["qDimensions"]
            ],
            "qMeasureInfo": [{"qFallbackTitle": m["qDef"]["qLabel"]} for m in cube["qMeasures"]],
            "qDataPages": [],
        }
    if obj.type == "dimension":
        layout["qDimInfos"] = [
            {"qName": name, "qTags": [], "qIsSemantic": False} for name in props["qDim"]["qFieldDefs"]
        ]
    if obj.type == "measure":
        layout["qMeasure"] = dict(props["qMeasure"])
    if obj.type == "variable":
        layout = {
            "qInfo": layout["qInfo"],
            "qMeta": meta,
            "qText": props["qDefinition"].lstrip("="),
            "qIsScriptCreated": obj.script_created,
        }
    if obj.type == "bookmark":
        layout["qBookmark"] = {
            "qStateData": [
                {
                    "qStateName": "$",
                    "qFieldItems": [
                        {
                            "qDef": {"qName": item["qField"], "qType": "PRESENTATION"},
                            "qSelectInfo": {"qTextSearch": "", "qNumberFormat": {}},
                            "qValues": [],
                            "qExcludedValues": [],
                        }
                        for item in props.get("qBookmarkSelections", [])
                    ],
                }
            ],
            "qUtcModifyTime": 0,
            "qVariableItems": [],
        }
    return layout


def full_property_tree(content: AppContent, obj: QixObject) -> Json:
    """``GetFullPropertyTree``: the object's properties with its children's trees."""
    return {
        "qProperty": obj.properties,
        "qChildren": [full_property_tree(content, content.objects[child]) for child in obj.children],
        "qEmbeddedSnapshotRef": None,
    }


def field_list(content: AppContent) -> list[Json]:
    """Fields with the tables they come from (``qFieldListDef`` items)."""
    seen: dict[str, list[str]] = {}
    for table, columns in content.tables.items():
        for column in columns:
            seen.setdefault(column, []).append(table)
    return [
        {"qName": name, "qSrcTables": tables, "qTags": ["$key"] if len(tables) > 1 else []}
        for name, tables in seen.items()
    ]
