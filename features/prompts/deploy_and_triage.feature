Feature: Prompt: deploy and triage at once
  As an incident responder with a list of affected machines
  I want one plan that deploys Velociraptor and triages those machines
  So that deployment and evidence collection do not wait on each other

  Prompts are text and do not touch Velociraptor. What they name still has to be real:
  what I gave them, and artifacts that exist in the Velociraptor I am connected to.

  @tool:prompt:deploy_and_triage
  Scenario: The deploy and triage prompt carries the incident and systems I give
    When I ask for the deploy and triage prompt with
      | argument         | value       |
      | incident_type    | ransomware  |
      | affected_systems | web01, db02 |
    Then the server under test reports success
    And the prompt's text carries "ransomware"
    And the prompt's text carries "web01, db02"

  @tool:prompt:deploy_and_triage
  Scenario: The deploy and triage prompt recommends only artifacts Velociraptor has
    When I ask for the deploy and triage prompt with
      | argument         | value      |
      | incident_type    | ransomware |
      | affected_systems | web01      |
    Then every artifact the prompt recommends exists in Velociraptor

  @tool:prompt:deploy_and_triage @bad_input
  Scenario: The deploy and triage prompt needs the affected systems
    When I ask for the deploy and triage prompt without its affected_systems
    Then the server under test reports an error that names "affected_systems"
