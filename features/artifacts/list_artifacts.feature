@tool:list_artifacts
Feature: Find artifacts to collect
  As an analyst deciding what to collect
  I want to search Velociraptor's artifacts by name and kind
  So that I pick the right one without reading all of them

  @arg:search
  Scenario: A search finds the artifacts about that subject, and only those
    When I search the artifacts for "Pslist"
    Then the server under test reports success
    And "Linux.Sys.Pslist" is among the artifacts listed
    And every artifact listed has "Pslist" in its name or description in Velociraptor

  @arg:search
  Scenario: A search finds artifacts by a word only their description holds
    When I search the artifacts for "authorized_keys"
    Then the server under test reports success
    And "Linux.Ssh.AuthorizedKeys" is among the artifacts listed
    And the artifacts listed are the ones whose name or description in Velociraptor holds "authorized_keys"

  @arg:artifact_type
  Scenario: Asking for server artifacts lists only server artifacts
    When I list the server artifacts
    Then every artifact listed is a server artifact in Velociraptor

  @arg:artifact_type
  Scenario: Asking for client artifacts lists only client artifacts
    When I list the client artifacts
    Then every artifact listed is a client artifact in Velociraptor

  @arg:limit
  Scenario: A limit caps how many artifacts are listed
    When I list artifacts, keeping at most 5
    Then the server under test lists exactly 5 of the artifacts Velociraptor knows

  Scenario: A search that matches nothing lists no artifact
    When I search the artifacts for "RaptorspecNoSuchArtifact"
    Then the server under test lists no artifact

  @security
  Scenario Outline: An artifact search holding quotes or VQL cannot widen the list
    When I search the artifacts for "<search>"
    Then the server under test lists no artifact

    Examples:
      | search                                   |
      | x' OR 1=1 --                             |
      | x" OR TRUE OR "                          |
      | x'; SELECT * FROM artifact_definitions() |

  Scenario: Each artifact listed has the type Velociraptor gives it
    When I search the artifacts for "Info"
    Then each artifact listed has the type Velociraptor gives it

  @security
  Scenario Outline: An artifact search holding <shape> lists what Velociraptor holds for that text
    When I search the artifacts for "<search>"
    Then the server under test reports success
    And the artifacts listed are the ones whose name or description in Velociraptor holds "<search>"

    Examples:
      | shape                     | search                                           |
      | a quote, a newline and -- | Pslist' OR 1=1\n--                               |
      | a backslash-escaped quote | Pslist\\' OR 1=1 --                              |
      | a semicolon               | Pslist'; SELECT * FROM artifact_definitions() -- |
      | braces                    | Pslist} {                                        |
      | non-ASCII text            | Pslist-ünï-日本' OR 1=1 --                         |
      | a regex alternation       | Pslist\|Users                                    |
      | an unclosed bracket       | Pslist(                                          |

  Scenario: Without a limit, 100 artifacts are listed
    When I list the artifacts without a limit
    Then the server under test lists exactly 100 of the artifacts Velociraptor knows
