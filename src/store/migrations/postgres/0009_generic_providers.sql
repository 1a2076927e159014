-- The CI systems that report through the generic build API
-- (POST /api/builds/events); ids as in store/rows.rs.
INSERT INTO providers (id, kind, name) VALUES
    (10, 'jenkins', 'Jenkins'),
    (11, 'buildkite', 'Buildkite'),
    (12, 'circleci', 'CircleCI'),
    (13, 'azure-pipelines', 'Azure Pipelines'),
    (14, 'bitbucket-pipelines', 'Bitbucket Pipelines'),
    (15, 'teamcity', 'TeamCity'),
    (16, 'drone', 'Drone'),
    (17, 'woodpecker', 'Woodpecker'),
    (18, 'travis', 'Travis CI'),
    (19, 'other', 'Other CI');
