Feature: Prompt: build an offline collection kit
  As an analyst who must collect from an air-gapped machine
  I want a plan for a self-contained collector for that machine's OS
  So that I bring back the right evidence in one visit

  Prompts are text and do not touch Velociraptor. What they name still has to be real:
  what I gave them, and artifacts that exist in the Velociraptor I am connected to.

  @tool:prompt:offline_collection_kit
  Scenario: The offline collection kit prompt is for the OS I name
    When I ask for the offline collection kit prompt with
      | argument        | value |
      | target_os       | linux |
      | collection_type | full  |
    Then the server under test reports success
    And the prompt's text carries "linux"
    And the prompt's text carries "full"

  @tool:prompt:offline_collection_kit
  Scenario: The offline collection kit prompt recommends only artifacts Velociraptor has
    When I ask for the offline collection kit prompt with
      | argument  | value |
      | target_os | linux |
    Then every artifact the prompt recommends exists in Velociraptor

  @tool:prompt:offline_collection_kit @bad_input
  Scenario: The offline collection kit prompt needs a target OS
    When I ask for the offline collection kit prompt without its target_os
    Then the server under test reports an error that names "target_os"

  @tool:prompt:offline_collection_kit
  Scenario Outline: The offline collection kit prompt recommends artifacts for the OS I name, <os>
    When I ask for the offline collection kit prompt with
      | argument  | value |
      | target_os | <os>  |
    Then every artifact the prompt recommends exists in Velociraptor
    And every client artifact the prompt recommends is one Velociraptor runs on <os>

    Examples:
      | os      |
      | windows |
      | linux   |
      | macos   |
