"""Drives a running stac-oci with pystac-client through the API extensions: CQL2 text and
JSON filters, sortby, fields, collection search and paging over POST.

Usage: pystac_extensions.py URL
Prints one JSON object with what it saw; the Rust test compares it with the fixtures.
"""
import json
import sys

from pystac_client import Client

COLLECTION = "pastis-2433"
TEXT = "parcel_count > 100 AND parcel_count <= 150"
JSON = {"op": "and", "args": [
    {"op": ">", "args": [{"property": "parcel_count"}, 100]},
    {"op": "<=", "args": [{"property": "parcel_count"}, 150]},
]}


def keys(items):
    return [f"{item.collection_id}/{item.id}" for item in items]


def main() -> None:
    client = Client.open(sys.argv[1])
    seen = {}

    text = client.search(collections=[COLLECTION], filter=TEXT, filter_lang="cql2-text",
                         method="GET", limit=200)
    seen["text_matched"] = text.matched()
    seen["text_ids"] = keys(text.items())

    # POST with a CQL2 JSON filter, paged by the POST `next` links (body + token).
    posted = client.search(collections=[COLLECTION], filter=JSON, method="POST", limit=37)
    seen["json_matched"] = posted.matched()
    seen["json_ids"] = keys(posted.items())
    seen["json_pages"] = sum(1 for _ in posted.pages_as_dicts())

    ordered = client.search(collections=[COLLECTION], sortby="-parcel_count,id", max_items=5)
    seen["sorted"] = [[item.id, item.properties["parcel_count"]] for item in ordered.items()]
    ascending = client.search(collections=[COLLECTION], sortby=[{"field": "properties.parcel_count",
                                                                 "direction": "asc"}],
                              method="POST", max_items=3)
    seen["sorted_ascending"] = [item.properties["parcel_count"] for item in ascending.items()]

    page = next(client.search(collections=[COLLECTION], fields=["id", "properties.parcel_count",
                                                                "-assets", "-links"],
                              limit=3, method="POST").pages_as_dicts())
    seen["fields_post"] = [sorted(f) + sorted(f.get("properties", {})) for f in page["features"]]
    assert page["features"], "fields: no Items"
    page = next(client.search(collections=[COLLECTION], fields=["-geometry", "-properties"],
                              limit=3, method="GET").pages_as_dicts())
    seen["fields_get"] = [sorted(f) for f in page["features"]]

    found = client.collection_search(bbox=[-40.0, 30.0, -30.0, 40.0], limit=2)
    seen["collections_bbox"] = sorted(c.id for c in found.collections())
    seen["collections_bbox_matched"] = found.matched()
    found = client.collection_search(q="t4")
    seen["collections_q"] = sorted(c.id for c in found.collections())
    found = client.collection_search(datetime="2023-01-01T00:00:00Z/..")
    seen["collections_datetime"] = sorted(c.id for c in found.collections())
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
