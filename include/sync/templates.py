"""The object types: what each sends, read from its template and its dbt model, checked, applied to the domain.

An object type is ``include/sync/object_types/<Name>.json``, the PutProfileObjectType request
(its version is in the Description and in git; it is applied every run, PutProfileObjectType
being an upsert), and a dbt model, ``customer_profiles__<name>``
(dbt/models/marts/customer_profiles/), whose enforced contract's columns are exactly the
template's fields: the sync reads ``select *`` from the model's relation through the warehouse
seam (include/warehouse/seam.py), on either engine, its values as plain Python
(``seam.records``), so an object's JSON is the same text on both.
The UNIQUE key's fields name an object, the PROFILE key's field its profile. Null and empty
values are left out.

SQL the sync reads besides the object types (``check_sources``' ``extra_queries``, the merges,
the suppression list) names dbt models as ``{model}`` placeholders: ``over_models`` puts each
model's relation in (the warehouse's, from dbt's manifest).
"""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from pathlib import Path

from include.sync.config import OBJECT_TYPES
from include.sync.engine import ContractError, Item, content_hash
from include.warehouse.seam import Warehouse, WarehouseError, records

OBJECT_TYPES_DIR = Path(__file__).parent / "object_types"
MODEL_PREFIX = "customer_profiles__"


def model_name(object_type: str) -> str:
    """The dbt model of an object type: UnifiedProfile -> customer_profiles__unified_profile."""
    return MODEL_PREFIX + re.sub(r"(?<!^)(?=[A-Z])", "_", object_type).lower()


def over_models(sql: str, wh: Warehouse) -> str:
    """``sql`` with each ``{model}`` placeholder replaced by that dbt model's relation in ``wh``."""
    models = {name for _, name, _, _ in string.Formatter().parse(sql) if name}
    return sql.format(**{name: wh.relation(name) for name in models})


@dataclass(frozen=True)
class ObjectType:
    name: str
    template: dict
    model: str  # the dbt model whose rows are the objects

    def sql(self, wh: Warehouse) -> str:
        return f"select * from {wh.relation(self.model)}"

    @cached_property
    def digest(self) -> str:
        return content_hash(json.dumps(self.template, sort_keys=True))

    @cached_property
    def field_names(self) -> list[str]:
        return [spec["Source"].removeprefix("_source.") for spec in self.template["Fields"].values()]

    def _key_fields(self, identifier: str) -> list[str]:
        sources = {name: spec["Source"].removeprefix("_source.") for name, spec in self.template["Fields"].items()}
        return next(
            [sources[f] for f in key["FieldNames"]]
            for keys in self.template["Keys"].values()
            for key in keys
            if identifier in key["StandardIdentifiers"]
        )

    @cached_property
    def unique_fields(self) -> list[str]:
        return self._key_fields("UNIQUE")

    @cached_property
    def profile_field(self) -> str:
        (name,) = self._key_fields("PROFILE")
        return name

    @cached_property
    def attribute_fields(self) -> set[str]:
        return {
            spec["Source"].removeprefix("_source.")
            for spec in self.template["Fields"].values()
            if spec.get("Target", "").startswith("_profile.Attributes.")
        }

    @cached_property
    def expires_after(self) -> timedelta:
        return timedelta(days=self.template["ExpirationDays"])

    def as_fields(self, columns: list[str]) -> list[str]:
        """The model's column names as the template spells its fields (Athena lower-cases every name)."""
        by_lower = {field.lower(): field for field in self.field_names}
        return [by_lower.get(column.lower(), column) for column in columns]

    def items(self, wh: Warehouse) -> list[Item]:
        frame = wh.query_df(self.sql(wh))
        return [self.item(row) for row in records(frame.set_axis(self.as_fields(list(frame.columns)), axis=1))]

    def item(self, row: dict) -> Item:
        values = {k: v for k, v in row.items() if v is not None and v != ""}
        missing = [f for f in self.unique_fields if f not in values]
        if missing:
            # The row itself stays out of the message: it is a person's profile, and the message is alerted.
            raise ContractError(f"{self.name}: a row of {self.model} has no value for its key field(s) {missing}")
        body = json.dumps(values, sort_keys=True, separators=(",", ":"))
        rejection = None
        too_long = sorted(f for f in self.attribute_fields if len(str(values.get(f, ""))) > 255)
        if too_long:
            rejection = ("AttributeTooLong", f"profile attributes are at most 255 characters: {too_long}")
        elif len(body) > 256_000:
            rejection = ("ObjectTooLarge", f"the object is {len(body)} characters, at most 256,000")
        return Item(
            key="|".join(str(values[f]) for f in self.unique_fields),
            profile_id=str(values[self.profile_field]),
            body=body,
            content_hash=content_hash(self.digest, body),
            rejection=rejection,
        )


def load_object_type(name: str) -> ObjectType:
    return ObjectType(name, json.loads((OBJECT_TYPES_DIR / f"{name}.json").read_text()), model_name(name))


def check_sources(wh: Warehouse, extra_queries: dict[str, str]) -> None:
    """Read every object type's model and ``extra_queries`` (SQL over ``{model}`` placeholders)
    without rows; one error naming every gap.

    dbt's enforced contracts hold each model to its template's fields when it is built; this
    catches what a build cannot: a model not built (or its build failed), a template edited
    without its model, a mart an extra query reads that is gone."""
    problems = []
    for name in [*OBJECT_TYPES, *extra_queries]:
        object_type = load_object_type(name) if name in OBJECT_TYPES else None
        try:
            sql = object_type.sql(wh) if object_type else over_models(extra_queries[name], wh)
            columns = list(wh.query_df(f"select * from ({sql}) limit 0").columns)
        except KeyError as err:  # a model the dbt manifest does not have
            problems.append(f"{name}: {err.args[0]}")
            continue
        except WarehouseError as err:  # MissingRelation: not built
            problems.append(f"{name}: {str(err).splitlines()[0]}")
            continue
        if object_type and sorted(object_type.as_fields(columns)) != sorted(object_type.field_names):
            problems.append(f"{name}: {object_type.model} has columns {sorted(columns)}, not the template's fields")
    if problems:
        raise ContractError("the sync cannot read the marts it pushes:\n  " + "\n  ".join(problems))


def ensure_domain(client, domain: str) -> None:
    try:
        client.get_domain(DomainName=domain)
    except client.exceptions.ResourceNotFoundException:
        client.create_domain(DomainName=domain, DefaultExpirationDays=1098)


def ensure_object_types(client, domain: str) -> None:
    """PutProfileObjectType is an upsert: calling it every run keeps AWS equal to the templates."""
    for name in OBJECT_TYPES:
        client.put_profile_object_type(DomainName=domain, ObjectTypeName=name, **load_object_type(name).template)
