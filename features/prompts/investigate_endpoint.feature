Feature: Prompt: investigate an endpoint
  As an analyst starting on a suspicious endpoint
  I want a ready-made investigation plan for that client
  So that I do not skip a step under pressure

  Prompts are text and do not touch Velociraptor. What they name still has to be real:
  what I gave them, and artifacts that exist in the Velociraptor I am connected to.

  @tool:prompt:investigate_endpoint
  Scenario: The endpoint investigation prompt is about the client I name
    Given an enrolled linux client
    When I ask for the endpoint investigation prompt for the client
    Then the server under test reports success
    And the prompt's text names the client

  @tool:prompt:investigate_endpoint
  Scenario: The endpoint investigation prompt recommends only artifacts Velociraptor has
    Given an enrolled linux client
    When I ask for the endpoint investigation prompt for the client
    Then every artifact the prompt recommends exists in Velociraptor

  @tool:prompt:investigate_endpoint @bad_input
  Scenario: The endpoint investigation prompt needs a client
    When I ask for the endpoint investigation prompt without its client_id
    Then the server under test reports an error that names "client_id"
