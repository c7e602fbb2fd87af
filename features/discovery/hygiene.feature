@tool:server:hygiene @slow
Feature: Every tool a server offers behaves, mapped onto the contract or not
  As an engineer of an MCP server for Velociraptor
  I want every tool my server lists to answer a call its own schema allows cleanly
  So that no tool leaks its internals, hides a failure behind a success, or hangs

  Each tool the server under test lists is called once, with arguments built from its own
  input schema: ids that exist nowhere, an artifact Velociraptor does not know, a harmless
  query. A tool whose name or description speaks of deploying (deploy, ssh, winrm, cloud) is
  never called and counts as skipped. The calls are made once per server and run; each
  scenario below judges one aspect of them, naming every tool that fails it.

  Scenario: No tool answers with Python's internals
    When I call every tool the server under test lists once, with arguments its schema allows
    Then no tool answers with internal error text

  Scenario: No tool reports a failure as a success
    When I call every tool the server under test lists once, with arguments its schema allows
    Then no tool reports an error as success

  Scenario: Every tool answers in bounded time on a clean protocol stream
    When I call every tool the server under test lists once, with arguments its schema allows
    Then every tool answers within 30 seconds
    And no tool writes anything but protocol on its output, nor kills the server
