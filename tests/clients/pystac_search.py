"""Drives a running stac-oci with pystac-client, as a user would, and prints what it saw.

Usage: pystac_search.py URL BBOX [HEADERS]
HEADERS, optional, is a JSON object of request headers (e.g. an API key).
Prints one JSON object: collections, matched count, every Item id found by paging.
"""
import json
import sys

from pystac_client import Client


def main() -> None:
    url, bbox = sys.argv[1], [float(v) for v in sys.argv[2].split(",")]
    headers = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
    client = Client.open(url, headers=headers)
    collections = sorted(c.id for c in client.get_collections())
    # pystac-client searches with POST and follows our POST `next` links page by page.
    search = client.search(bbox=bbox, limit=250)
    ids = [f"{item.collection_id}/{item.id}" for item in search.items()]
    get_search = client.search(bbox=bbox, limit=500, method="GET")
    get_ids = [f"{item.collection_id}/{item.id}" for item in get_search.items()]
    print(json.dumps({
        "collections": collections,
        "matched": search.matched(),
        "ids": ids,
        "get_ids": get_ids,
    }))


if __name__ == "__main__":
    main()
