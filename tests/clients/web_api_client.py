#!/usr/bin/env python3
"""An independent client of the web API (mod_xml_rpc), standard library only.

Usage: python3 web_api_client.py BASE_URL USER PASSWORD

urllib sends credentials only after a 401 whose WWW-Authenticate names the realm they
were registered for ("freeswitch"), so a wrong challenge fails here. Also calls
freeswitch.api over XML-RPC (/RPC2) with xmlrpc.client. Prints one JSON
object per request: {"what", "status", "content_type", "body"}.
"""
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
import xmlrpc.client


def report(what, status, content_type, body):
    print(json.dumps({"what": what, "status": status, "content_type": content_type, "body": body}))


def main():
    base, user, password = sys.argv[1:4]
    try:
        urllib.request.urlopen(base + "/txtapi/hostname", timeout=30)
        report("anonymous", 200, None, "")
    except urllib.error.HTTPError as e:
        report("anonymous", e.code, e.headers.get("WWW-Authenticate"), e.read().decode())

    passwords = urllib.request.HTTPPasswordMgr()
    passwords.add_password("freeswitch", base, user, password)
    opener = urllib.request.build_opener(urllib.request.HTTPBasicAuthHandler(passwords))
    for what, path in [
        ("version", "/txtapi/version"),
        ("originate", "/webapi/originate?" + urllib.parse.quote("null/1000 &park()")),
        ("count", "/txtapi/show?" + urllib.parse.quote("channels count")),
        ("unknown", "/api/no_such_command"),
    ]:
        with opener.open(base + path, timeout=30) as r:
            report(what, r.status, r.headers.get("Content-Type"), r.read().decode())

    # XML-RPC at /RPC2 (freeswitch.api), credentials in the URL as xmlrpc.client sends them.
    host = base.split("://", 1)[1]
    rpc = xmlrpc.client.ServerProxy("http://%s:%s@%s/RPC2" % (user, password, host))
    report("rpc_version", 200, None, rpc.freeswitch.api("version", ""))
    report("rpc_unknown", 200, None, rpc.freeswitch.api("no_such_command", ""))
    try:
        rpc.system.listMethods()
        report("rpc_fault", 200, None, "")
    except xmlrpc.client.Fault as f:
        report("rpc_fault", f.faultCode, None, f.faultString)


if __name__ == "__main__":
    main()
