Feature: Prompt: look for lateral movement
  As an analyst who suspects an intruder is moving between machines
  I want a plan to look for lateral movement in a scope and time frame I choose
  So that I find every machine the intruder touched

  Prompts are text and do not touch Velociraptor. What they name still has to be real:
  what I gave them, and artifacts that exist in the Velociraptor I am connected to.

  @tool:prompt:lateral_movement
  Scenario: The lateral movement prompt carries the scope and time frame I give
    When I ask for the lateral movement prompt with
      | argument  | value           |
      | scope     | label:case-4711 |
      | timeframe | 7d              |
    Then the server under test reports success
    And the prompt's text carries "label:case-4711"
    And the prompt's text carries "7d"

  @tool:prompt:lateral_movement
  Scenario: The lateral movement prompt recommends only artifacts Velociraptor has
    When I ask for the lateral movement prompt with
      | argument | value |
      | scope    | all   |
    Then every artifact the prompt recommends exists in Velociraptor

  @tool:prompt:lateral_movement @bad_input
  Scenario: The lateral movement prompt needs a scope
    When I ask for the lateral movement prompt without its scope
    Then the server under test reports an error that names "scope"
