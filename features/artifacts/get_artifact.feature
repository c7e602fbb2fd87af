@tool:get_artifact
Feature: Read an artifact's definition
  As an analyst about to collect an artifact
  I want to read what it collects and which parameters it takes
  So that I collect it with the right settings

  @arg:artifact_name
  Scenario Outline: The definition of <artifact> names the parameters Velociraptor defines
    When I look up the artifact "<artifact>"
    Then the server under test reports success
    And the definition names the parameters Velociraptor defines for "<artifact>"

    Examples:
      | artifact           |
      | Linux.Sys.Users    |
      | Linux.Sys.Pslist   |
      | Generic.Client.VQL |

  Scenario: The definition of an artifact with several sources names each source
    When I look up the artifact "Generic.Client.Info"
    Then the server under test reports success
    And the definition names the sources Velociraptor defines for "Generic.Client.Info"

  @bad_input
  Scenario: Looking up an artifact that does not exist is refused
    When I look up the artifact "Custom.Raptorspec.NoSuchArtifact"
    Then the server under test reports an error that names "Custom.Raptorspec.NoSuchArtifact"

  @bad_input @security
  Scenario: An artifact name that closes its quote and adds a condition finds no definition
    When I look up the artifact "Linux.Sys.Users' OR 1=1 --"
    Then the reply carries no artifact's definition

  @bad_input @security
  Scenario: An artifact name holding double quotes and a second name finds no definition
    When I look up the artifact "Linux.Sys.Users", "Linux.Sys.Pslist"
    Then the reply carries no artifact's definition

  @security
  Scenario: A definition carries no key material
    When I look up the artifact "Linux.Sys.Users"
    Then the reply carries no key material from the lab

  @bad_input @security
  Scenario Outline: An artifact name holding <shape> finds no definition
    When I look up the artifact "<name>"
    Then the reply carries no artifact's definition
    And Velociraptor defines no artifact named "<name>"

    Examples:
      | shape                     | name                                                      |
      | a quote, a newline and -- | Linux.Sys.Users' OR 1=1\n--                               |
      | a backslash-escaped quote | Linux.Sys.Users\\' OR 1=1 --                              |
      | a semicolon               | Linux.Sys.Users'; SELECT * FROM artifact_definitions() -- |
      | braces                    | Linux.Sys.Users} {                                        |
      | non-ASCII text            | Linux.Sys.Users-ünï-日本' OR 1=1 --                         |
