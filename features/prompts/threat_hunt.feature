Feature: Prompt: plan a threat hunt
  As an analyst holding indicators of compromise
  I want a hunting plan built around those indicators
  So that I search the fleet for exactly what I know is bad

  Prompts are text and do not touch Velociraptor. What they name still has to be real:
  what I gave them, and artifacts that exist in the Velociraptor I am connected to.

  @tool:prompt:threat_hunt
  Scenario: The threat hunt prompt carries the indicators I give
    When I ask for the threat hunt prompt with
      | argument   | value                                              |
      | indicators | evil.example.com, 44d88612fea8a8f36de82e1278abb02f |
    Then the server under test reports success
    And the prompt's text carries "evil.example.com, 44d88612fea8a8f36de82e1278abb02f"

  @tool:prompt:threat_hunt
  Scenario: The threat hunt prompt recommends only artifacts Velociraptor has
    When I ask for the threat hunt prompt with
      | argument   | value            |
      | indicators | evil.example.com |
    Then every artifact the prompt recommends exists in Velociraptor

  @tool:prompt:threat_hunt @bad_input
  Scenario: The threat hunt prompt needs indicators
    When I ask for the threat hunt prompt without its indicators
    Then the server under test reports an error that names "indicators"
