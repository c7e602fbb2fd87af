"""Raptorspec's reference MCP server for Velociraptor.

It implements the canonical contract (../shared/contracts/megaraptor-mcp-tools.md): the 17
core tools, the non-deployment resources and the 8 prompts, on the official MCP Python SDK
(mcp 2.x) and pyvelociraptor. It is the example of what the living spec asks of a server:

- every value a caller gives reaches Velociraptor as a query variable, never as VQL text;
- VQL failures (log lines in Velociraptor's reply) become ``isError`` replies naming the
  cause; unknown clients, flows, hunts and artifacts are errors naming the id;
- every Velociraptor call has a deadline and runs on a thread pool, so a slow query never
  stalls another;
- tool replies carry ``structuredContent`` (with an output schema) and the same JSON as text;
- stdout carries only the protocol (stdio transport); logs go to stderr.

Run: ``python -m reference --config api_client.yaml [--transport stdio|http] [--port N]``
(or the console script ``raptorspec-reference``). The config path may also come from
``VELOCIRAPTOR_API_CONFIG``.
"""

__version__ = "0.1.0"
