Feature: Prompt: deploy Velociraptor rapidly for an incident
  As an incident responder arriving at a site without Velociraptor
  I want a deployment plan sized for the endpoints and environment I describe
  So that I am collecting evidence within minutes

  Prompts are text and do not touch Velociraptor. What they name still has to be real:
  what I gave them, and artifacts that exist in the Velociraptor I am connected to.

  @tool:prompt:rapid_ir_deployment
  Scenario: The rapid IR deployment prompt carries the size and environment I give
    When I ask for the rapid IR deployment prompt with
      | argument     | value          |
      | target_count | 250            |
      | environment  | windows_domain |
    Then the server under test reports success
    And the prompt's text carries "250"
    And the prompt's text carries "windows_domain"

  @tool:prompt:rapid_ir_deployment
  Scenario: The rapid IR deployment prompt recommends only artifacts Velociraptor has
    When I ask for the rapid IR deployment prompt with
      | argument     | value |
      | target_count | 25    |
      | environment  | linux |
    Then every artifact the prompt recommends exists in Velociraptor

  @tool:prompt:rapid_ir_deployment @bad_input
  Scenario: The rapid IR deployment prompt needs the number of endpoints
    When I ask for the rapid IR deployment prompt without its target_count
    Then the server under test reports an error that names "target_count"
