#!/usr/bin/env python3
"""End to end with the official MCP Python SDK as the client (`pip install mcp`): starts
`leakhound mcp` over stdio, initializes, lists tools and calls each, and checks the answers.

    python3 scripts/e2e-mcp.py [BINARY]       default: target/release/leakhound

Exits non-zero on any mismatch. Synthetic token only.
"""
import asyncio, json, os, subprocess, sys, tempfile

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/release/leakhound")


def token():
    """A synthetic GitHub token with a valid checksum (scripts/lib/synthetic-token.py)."""
    here = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run([sys.executable, os.path.join(here, "lib", "synthetic-token.py"), "11"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def field(obj, snake, camel):
    """SDK versions name result fields in snake_case or camelCase."""
    v = getattr(obj, snake, None)
    return v if v is not None else getattr(obj, camel, None)


async def main():
    d = tempfile.mkdtemp()
    tok = token()
    open(os.path.join(d, ".env"), "w").write(f"GH={tok}\n")
    params = StdioServerParameters(command=binary, args=["mcp", "--root", d], env={"HOME": d, "PATH": os.environ.get("PATH", "")})
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as s:
            init = await s.initialize()
            assert field(init, 'server_info', 'serverInfo').name == "leakhound", init
            tools = sorted(t.name for t in (await s.list_tools()).tools)
            assert tools == ["check_command", "scan_file", "scan_path", "scan_text"], tools
            r = await s.call_tool("scan_text", {"text": f"token = '{tok}'"})
            found = field(r, 'structured_content', 'structuredContent')["findings"]
            assert found and found[0]["rule_id"] == "github.pat_classic", r
            assert tok[8:] not in json.dumps(r.model_dump()), "token shown"
            r = await s.call_tool("scan_file", {"path": ".env"})
            assert field(r, 'structured_content', 'structuredContent')["findings"][0]["line"] == 1, r
            r = await s.call_tool("check_command", {"command": "printenv"})
            assert field(r, 'structured_content', 'structuredContent')["decision"] == "deny", r
            r = await s.call_tool("scan_file", {"path": "missing"})
            assert field(r, 'is_error', 'isError'), r
    print("e2e-mcp: initialize, tools/list and 4 tool calls through the MCP Python SDK: ok")


asyncio.run(main())
