"""Drives the `onecloud` package's OneCloudApi against an emulator: balance, images, DC
locations, the server list, one server; makes a template of that server, creates a second
server from it and deletes the template; then deletes the first server and checks it is gone.

Usage: python drive_onecloud.py BASE_URL TOKEN EXPECT_JSON
EXPECT_JSON: {"server": {field: value, ...} as created, "image": image ID, "dc": DC TechTitle}

Prints one JSON object on success. On a mismatch, prints to stderr the call and the field that
differs, and exits 1. Only the module's base URL is changed (the package hard-codes
https://api.1cloud.ru); the installed package is not edited.
"""

import json
import numbers
import sys

from onecloud import api


def fail(call, message):
    print("{}: {}".format(call, message), file=sys.stderr)
    sys.exit(1)


def answer(call, value, kind):
    """The client reports HTTP errors as {'ERROR_CODE', 'ERROR_MESSAGE'} instead of raising."""
    if isinstance(value, dict) and "ERROR_CODE" in value:
        fail(call, "the client got an error: {}".format(value))
    if not isinstance(value, kind):
        fail(call, "expected a JSON {}, got {!r}".format(kind.__name__, value))
    return value


def find(call, items, field, wanted):
    for item in items:
        if isinstance(item, dict) and item.get(field) == wanted:
            return item
    fail(call, "no item has field {} = {!r} (fields seen: {})".format(
        field, wanted, sorted({key for item in items if isinstance(item, dict) for key in item})))


def same_fields(call, got, expected):
    for field, value in expected.items():
        if field not in got:
            fail(call, "field {} is missing".format(field))
        if got[field] != value:
            fail(call, "field {}: expected {!r}, got {!r}".format(field, value, got[field]))


def delete(call, send):
    """The real API answers DELETE with an empty 200 (docs/1cloud-api.md §2.6); this client
    always json.loads the body, so it raises on exactly that. Anything else is a failure."""
    try:
        deleted = send()
        if isinstance(deleted, dict) and "ERROR_CODE" in deleted:
            fail(call, "the client got an error: {}".format(deleted))
        return "JSON: {!r}".format(deleted)
    except json.JSONDecodeError as error:
        if error.doc != "":
            fail(call, "the answer is neither JSON nor empty: {!r}".format(error.doc))
        return "empty body"


def main():
    base, token, expect = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    api.URL = base
    client = api.OneCloudApi(token, timeout=10)
    server = expect["server"]

    balance = answer("get_balance", client.get_balance(), numbers.Number)
    images = answer("get_images_list", client.get_images_list(), list)
    find("get_images_list", images, "ID", expect["image"])
    dcs = answer("get_dc_locations", client.get_dc_locations(), list)
    find("get_dc_locations", dcs, "TechTitle", expect["dc"])
    servers = answer("get_servers_list", client.get_servers_list(), list)
    same_fields("get_servers_list", find("get_servers_list", servers, "ID", server["ID"]), server)
    one = answer("get_server_by_id", client.get_server_by_id(server["ID"]), dict)
    same_fields("get_server_by_id", one, server)

    template = answer("create_image", client.create_image("Nightly web", "nightly-web", server["ID"]), dict)
    same_fields("create_image", template, {"Name": "nightly-web", "DisplayName": "Nightly web"})
    listed = answer("get_images_list", client.get_images_list(), list)
    same_fields("get_images_list", find("get_images_list", listed, "ID", template["ID"]), template)
    copy = answer("create_server", client.create_server(
        "web-2", server["CPU"], server["RAM"], server["HDD"], template["ID"], server["DCLocation"], "SSD"), dict)
    same_fields("create_server from the template", copy, {"Name": "web-2", "Image": "nightly-web"})
    delete_image_answer = delete("delete_image", lambda: client.delete_image(template["ID"]))
    left = answer("get_images_list", client.get_images_list(), list)
    if any(isinstance(i, dict) and i.get("ID") == template["ID"] for i in left):
        fail("get_images_list after delete_image", "template {} is still listed".format(template["ID"]))

    delete_answer = delete("delete_server", lambda: client.delete_server(server["ID"]))

    gone = client.get_server_by_id(server["ID"])
    if not (isinstance(gone, dict) and gone.get("ERROR_CODE") == 404):
        fail("get_server_by_id after delete_server", "expected ERROR_CODE 404, got {!r}".format(gone))
    left = answer("get_servers_list", client.get_servers_list(), list)
    if any(isinstance(s, dict) and s.get("ID") == server["ID"] for s in left):
        fail("get_servers_list after delete_server", "server {} is still listed".format(server["ID"]))

    print(json.dumps({
        "balance": balance,
        "images": len(images),
        "dcs": len(dcs),
        "servers": len(servers),
        "delete_answer": delete_answer,
        "template": {"image": template["Name"], "server": copy["ID"], "deleted": delete_image_answer},
    }))


if __name__ == "__main__":
    main()
