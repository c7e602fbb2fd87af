Feature: Every tool the server claims is really there and behaves as an MCP tool
  As an engineer of an MCP server for Velociraptor
  I want to know that each tool mapped onto the canonical contract is offered, accepts what
  an analyst sends, refuses nonsense without dying, and answers in time
  So that the rest of the living spec tests investigations, not plumbing

  (An Examples column named "tool" tags each row with @tool:<that name>: a row whose tool the
  server under test lacks is skipped, and the row counts in the coverage matrix.)

  Background:
    Given an enrolled linux client

  Scenario Outline: The tool for <tool> is offered and its input schema takes what the suite sends
    Then the server under test offers the tool that "<tool>" maps to
    And its input schema accepts the arguments the suite sends for "<tool>"

    Examples:
      | tool              |
      | list_clients      |
      | get_client_info   |
      | label_client      |
      | quarantine_client |
      | list_artifacts    |
      | get_artifact      |
      | collect_artifact  |
      | create_hunt       |
      | list_hunts        |
      | get_hunt_results  |
      | modify_hunt       |
      | list_flows        |
      | get_flow_results  |
      | get_flow_status   |
      | cancel_flow       |
      | run_vql           |
      | vql_help          |

  @bad_input
  Scenario Outline: The tool for <tool> refuses arguments of the wrong type and keeps serving
    When I call "<tool>" with arguments of the wrong type
    Then the server under test reports an error
    And the server under test still answers

    Examples:
      | tool              |
      | list_clients      |
      | get_client_info   |
      | label_client      |
      | quarantine_client |
      | list_artifacts    |
      | get_artifact      |
      | collect_artifact  |
      | create_hunt       |
      | list_hunts        |
      | get_hunt_results  |
      | modify_hunt       |
      | list_flows        |
      | get_flow_results  |
      | get_flow_status   |
      | cancel_flow       |
      | run_vql           |
      | vql_help          |

  Scenario Outline: The tool for <tool> answers a typical request within 30 seconds
    When I call "<tool>" with typical arguments
    Then it answers within 30 seconds
    And the server under test still answers

    Examples:
      | tool              |
      | list_clients      |
      | get_client_info   |
      | label_client      |
      | quarantine_client |
      | list_artifacts    |
      | get_artifact      |
      | collect_artifact  |
      | create_hunt       |
      | list_hunts        |
      | get_hunt_results  |
      | modify_hunt       |
      | list_flows        |
      | get_flow_results  |
      | get_flow_status   |
      | cancel_flow       |
      | run_vql           |
      | vql_help          |

  Scenario Outline: The tool for <tool> says what it does
    Then the server under test describes the tool that "<tool>" maps to in at least 3 words

    Examples:
      | tool              |
      | list_clients      |
      | get_client_info   |
      | label_client      |
      | quarantine_client |
      | list_artifacts    |
      | get_artifact      |
      | collect_artifact  |
      | create_hunt       |
      | list_hunts        |
      | get_hunt_results  |
      | modify_hunt       |
      | list_flows        |
      | get_flow_results  |
      | get_flow_status   |
      | cancel_flow       |
      | run_vql           |
      | vql_help          |
