Feature: Prompt: triage an incident
  As an analyst called to an incident on one endpoint
  I want a rapid triage plan for that client and that kind of incident
  So that I collect the evidence that matters first

  Prompts are text and do not touch Velociraptor. What they name still has to be real:
  what I gave them, and artifacts that exist in the Velociraptor I am connected to.

  @tool:prompt:triage_incident
  Scenario: The incident triage prompt is about the client and incident I name
    Given an enrolled linux client
    When I ask for the incident triage prompt with
      | argument      | value      |
      | client_id     | the client |
      | incident_type | ransomware |
    Then the server under test reports success
    And the prompt's text names the client
    And the prompt's text carries "ransomware"

  @tool:prompt:triage_incident
  Scenario: The incident triage prompt recommends only artifacts Velociraptor has
    Given an enrolled linux client
    When I ask for the incident triage prompt for the client
    Then every artifact the prompt recommends exists in Velociraptor

  @tool:prompt:triage_incident @bad_input
  Scenario: The incident triage prompt needs a client
    When I ask for the incident triage prompt without its client_id
    Then the server under test reports an error that names "client_id"
