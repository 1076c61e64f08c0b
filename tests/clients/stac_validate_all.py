"""Validates every Collection and Item a running stac-oci serves with stac-validator.

Usage: stac_validate_all.py URL
Pages through /collections and /search (GET `next` links). Prints the number of
documents validated; exits 1 listing every invalid one. Load `offline_schemas` first
(through run_offline.py) on machines without network access.
"""
import json
import sys

import requests
from stac_validator.validate import StacValidate


def pages(url, key):
    while url:
        page = requests.get(url, timeout=60).json()
        yield from page[key]
        url = next((link["href"] for link in page.get("links", []) if link["rel"] == "next"),
                   None)


def main() -> None:
    base = sys.argv[1].rstrip("/")
    failures, count = [], 0
    documents = list(pages(f"{base}/collections?limit=1000", "collections"))
    documents += list(pages(f"{base}/search?limit=1000", "features"))
    for doc in documents:
        validator = StacValidate()
        if not validator.validate_dict(doc):
            failures.append(f"{doc.get('type')} {doc.get('id')}: {json.dumps(validator.message[-1:])}")
        count += 1
    if failures:
        print("\n".join(failures[:50]))
        sys.exit(1)
    print(json.dumps({"validated": count}))


if __name__ == "__main__":
    main()
