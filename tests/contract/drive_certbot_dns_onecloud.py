"""Drives certbot-dns-onecloud's own client (OneCloudClient) against an emulator: adds an ACME
TXT record, finds it with the plugin's own `_find_txt_record`, removes it and checks it is gone.

Usage: python drive_certbot_dns_onecloud.py BASE_URL TOKEN RECORD_NAME VALUE

Prints one JSON object on success. On a mismatch, prints to stderr which field of which record
differs from what the plugin looks for, and exits 1. Only the client's base URL is changed (the
package hard-codes https://api.1cloud.ru); the installed package is not edited.
"""

import json
import sys

from certbot import errors
from certbot_dns_onecloud.client import OneCloudClient


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def why_not_found(client, record, value):
    """The fields that differ from what `_find_txt_record` compares, in the zone's records
    closest to the one it looks for (those with the fewest differing fields)."""
    domain_id, _ = client._find_domain_id(record)
    zone = client._api_request("GET", "dns/{}".format(domain_id))
    # The same three comparisons `_find_txt_record` makes, spelled out to name the field.
    wanted = {"TypeRecord": "TXT", "HostName": "{}.".format(record), "Text": "\"{}\" ".format(value)}
    differing = [
        (linked.get("ID"), [(field, expected, linked.get(field))
                            for field, expected in wanted.items() if linked.get(field) != expected])
        for linked in zone["LinkedRecords"]
    ]
    if not differing:
        return "zone {} has no records".format(domain_id)
    fewest = min(len(fields) for _, fields in differing)
    return "\n".join(
        "record {}: field {}: the plugin looks for {!r}, the emulator answers {!r}".format(record_id, *field)
        for record_id, fields in differing if len(fields) == fewest
        for field in fields
    )


def main():
    base, token, record, value = sys.argv[1:5]
    client = OneCloudClient(token)
    client.api_url = base

    client.add_txt_record(record, value, 300)

    record_id, domain_id = client._find_txt_record(record, value)
    if record_id is None:
        fail("_find_txt_record({!r}, {!r}) found nothing:\n{}".format(record, value, why_not_found(client, record, value)))

    # The real API answers DELETE with an empty 200 (docs/1cloud-api.md §2.6), which this client
    # cannot decode: it raises right after the record was deleted. Exactly that error is expected.
    delete_answer = "JSON"
    try:
        client.remove_txt_record(record, value)
    except errors.PluginError as error:
        if not str(error).endswith("API response with non JSON: "):
            raise
        delete_answer = "empty body"

    again, _ = client._find_txt_record(record, value)
    if again is not None:
        fail("record {} is still in zone {} after remove_txt_record".format(again, domain_id))

    print(json.dumps({"record_id": record_id, "domain_id": domain_id, "delete_answer": delete_answer}))


if __name__ == "__main__":
    main()
