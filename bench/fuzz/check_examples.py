"""Every example in an OpenAPI 3.1 document validates against its schema.

Usage: python check_examples.py DOCUMENT.json

Reads the document as served and checks each schema's `examples` and each
media type's `example` with openapi-schema-validator's OAS31Validator (the
JSON Schema 2020-12 dialect OpenAPI 3.1 uses), references resolved within
the document. An object's example must also show every property its schema
names, so a reader sees the whole body. Prints one line per failure and
exits 1 on any; prints "OK n examples" otherwise.
"""

import json
import sys

from openapi_schema_validator import OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

BASE = "urn:document"


def examples(document):
    """(where, schema, example) for every example in the document."""
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        for example in schema.get("examples", []):
            yield f"schema {name}", {"$ref": f"{BASE}#/components/schemas/{name}"}, example
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            bodies = [("request", operation.get("requestBody", {}))]
            bodies += [(status, answer) for status, answer in operation.get("responses", {}).items()]
            for place, body in bodies:
                for media, content in body.get("content", {}).items():
                    if "example" in content:
                        yield f"{method} {path} {place} {media}", content["schema"], content["example"]


def resolved(registry, schema):
    """The schema a `$ref` points to (one level), for its properties."""
    while "$ref" in schema:
        ref = schema["$ref"]
        ref = ref if ref.startswith(BASE) else BASE + ref
        schema = registry.resolver().lookup(ref).contents
    return schema


def main(path):
    with open(path, encoding="utf-8") as file:
        document = json.load(file)
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    registry = Registry().with_resource(BASE, resource)
    failures, count = [], 0
    for where, schema, example in examples(document):
        count += 1
        if "$ref" in schema and not schema["$ref"].startswith(BASE):
            schema = {"$ref": BASE + schema["$ref"]}
        validator = OAS31Validator(schema, registry=registry)
        for error in validator.iter_errors(example):
            failures.append(f"{where}: {error.message} at {list(error.absolute_path)}")
        target = resolved(registry, schema)
        properties = dict(target.get("properties", {}))
        for part in target.get("allOf", []):
            properties.update(resolved(registry, part).get("properties", {}))
        if isinstance(example, dict):
            for name in properties:
                if name not in example:
                    failures.append(f"{where}: the example does not show `{name}`")
    for failure in failures:
        print(failure)
    if failures:
        sys.exit(1)
    print(f"OK {count} examples")


if __name__ == "__main__":
    main(sys.argv[1])
