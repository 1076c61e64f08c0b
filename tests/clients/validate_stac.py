"""Validates STAC JSON documents against the STAC core JSON schemas shipped with pystac.

Usage: validate_stac.py < documents.ndjson
Each line is a STAC Item or Collection. The schemas pystac bundles (offline) are
STAC 1.1.0's; their `stac_version` constant is relaxed to accept 1.0.0, whose core
fields are a subset. Prints the number validated; exits 1 listing every failure.
"""
import copy
import json
import sys

from jsonschema import Draft7Validator
from referencing import Registry, Resource
from pystac.validation.local_validator import get_local_schema_cache

from offline_schemas import relax_version


def main() -> None:
    cache = {uri: relax_version(copy.deepcopy(s)) for uri, s in get_local_schema_cache().items()}
    registry = Registry().with_resources(
        (uri, Resource.from_contents(s, default_specification=__import__("referencing.jsonschema").jsonschema.DRAFT7))
        for uri, s in cache.items()
    )
    by_type = {}
    for uri, schema in cache.items():
        for kind in ("item", "collection"):
            if uri.endswith(f"/{kind}-spec/json-schema/{kind}.json"):
                by_type[kind] = Draft7Validator(schema, registry=registry)
    failures, count = [], 0
    for line in sys.stdin:
        if not line.strip():
            continue
        doc = json.loads(line)
        kind = "collection" if doc.get("type") == "Collection" else "item"
        for error in by_type[kind].iter_errors(doc):
            failures.append(f"{kind} {doc.get('id')}: {error.json_path}: {error.message}")
        count += 1
    if failures:
        print("\n".join(failures[:50]))
        sys.exit(1)
    print(json.dumps({"validated": count}))


if __name__ == "__main__":
    main()
