"""Serves the JSON schemas STAC validators fetch from the internet out of local copies,
for machines without network access (the CI sandbox has none).

Importing this module patches `requests` and `urllib.request.urlopen` so that:
- schemas.stacspec.org URLs (any version) are answered with the STAC core schemas pystac
  bundles (STAC 1.1.0; their `stac_version` constant relaxed to accept 1.0.0, whose
  core fields are a subset);
- geojson.org schemas with the GeoJSON schemas pystac bundles;
- stac-extensions.github.io URLs with a schema that accepts any object: extension
  fields are NOT checked offline (listed on stderr at exit).
Every other URL (the gateway under test) goes through unchanged.
"""
import atexit
import io
import json
import os
import sys
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import requests
import requests.adapters
from pystac.validation import jsonschemas

BUNDLED = Path(jsonschemas.__file__).parent
CORE = BUNDLED / "stac-spec" / "v1.1.0"
SKIPPED = set()


def relax_version(schema):
    if isinstance(schema, dict):
        return {
            k: ({"type": "string", "enum": ["1.0.0", "1.1.0"]}
                if k == "stac_version" and isinstance(v, dict) and "const" in v
                else relax_version(v))
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [relax_version(v) for v in schema]
    return schema


def local_schema(url):
    """The local stand-in for a schema URL, or None to let the request through."""
    parsed = urlparse(url)
    name = os.path.basename(parsed.path)
    if parsed.hostname == "schemas.stacspec.org":
        path = CORE / name
        if path.exists():
            schema = relax_version(json.loads(path.read_text()))
            schema["$id"] = url
            return schema
    if parsed.hostname == "geojson.org":
        path = BUNDLED / "geojson" / name
        if path.exists():
            return json.loads(path.read_text())
    if parsed.hostname == "stac-extensions.github.io":
        SKIPPED.add(url)
        return {"$schema": "http://json-schema.org/draft-07/schema#", "$id": url, "type": "object"}
    return None


original_send = requests.adapters.HTTPAdapter.send


def send(self, request, **kwargs):
    schema = local_schema(request.url)
    if schema is None:
        return original_send(self, request, **kwargs)
    response = requests.Response()
    response.status_code = 200
    response.headers["Content-Type"] = "application/json"
    response._content = json.dumps(schema).encode()
    response.url = request.url
    response.request = request
    return response


original_urlopen = urllib.request.urlopen


class Answer(io.BytesIO):
    status = 200

    def getcode(self):
        return 200

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def urlopen(request, *args, **kwargs):
    url = request.full_url if isinstance(request, urllib.request.Request) else request
    schema = local_schema(url)
    if schema is None:
        return original_urlopen(request, *args, **kwargs)
    return Answer(json.dumps(schema).encode())


requests.adapters.HTTPAdapter.send = send
urllib.request.urlopen = urlopen
for module in list(sys.modules.values()):
    if getattr(module, "urlopen", None) is original_urlopen:
        module.urlopen = urlopen


@atexit.register
def report():
    if SKIPPED:
        print("offline: extension schemas not checked: " + ", ".join(sorted(SKIPPED)),
              file=sys.stderr)
