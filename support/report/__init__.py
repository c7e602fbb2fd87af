"""The living-documentation report: features → scenarios → steps, and the coverage matrix.

Why this renderer. The report is a small, self-contained HTML page written by our own code
(Python's ``html.escape``, inline CSS, no script), because the kept libraries we tried on a
tiny run each missed what a reader of the living spec needs. pytest-html shows a flat table
of test ids: no feature title, narrative, background or steps, and it copied a planted
private key into the page. Allure 3 (allure-pytest-bdd + the ``allure`` npm package, single
file) draws a 3.6 MB script application, leaves out the scenarios that were skipped at
collection (exactly our "SUT X has no <tool>" skips) and our ``@tool:`` tags, needs Node at
report time, and has no place for a tool × server matrix. The page we write shows the
features as written, each scenario's steps with one outcome column per server under test,
reasons, failure messages with the MCP exchange, and the matrix; it opens from the file in
any browser, and every text passes through :func:`support.secrets.mask` on the way in.

Modules: ``plugin`` (the pytest plugin: ``--report``, ``--compare``, the terminal's summary),
``model`` (records, summary, matrix, ``results.json`` and back), ``render`` (the HTML),
``tidy`` (assertion messages without pytest's introspection, tracebacks from the suite's
code), ``transcript`` (MCP exchanges decoded for reading), ``compare`` (what changed since a
previous run), ``merge`` (one report from several runs), ``canonical`` (the contract's tool,
resource and prompt names as data). ``python -m support.report merge OUT_DIR IN_DIR...`` and
``python -m support.report compare PREVIOUS CURRENT`` work on written reports.
"""
