# The machine packages (Debian's) that the tests, the demo and the benchmarks need: the one list, read by
# tools/MachinePackages.psm1 for build.ps1 (test, demo, bench). A package is installed only when what it
# provides is missing: a Command on PATH, or a Path on disk.
@{
    Packages = @(
        @{ Package = 'lbzip2'; Command = 'lbzip2' }                                  # benchmark anchor, tests
        @{ Package = 'bzip2'; Command = 'bzip2' }                                    # benchmark anchor, tests
        @{ Package = 'pbzip2'; Command = 'pbzip2' }                                  # tests (multi-stream files)
        @{ Package = 'rclone'; Command = 'rclone' }                                  # fetch benchmark anchor
        @{ Package = 'postgresql-client'; Command = 'psql' }                         # import benchmark anchor, tests
        @{ Package = 'docker-compose'; Command = 'docker-compose' }                  # compose file validation
        @{ Package = 'nodejs'; Command = 'node' }                                    # s3rver
        @{ Package = 'npm'; Command = 'npm' }                                        # installs s3rver
        @{ Package = 'postgresql-15'; Path = '/usr/lib/postgresql/15/bin/initdb' }   # the throwaway test cluster
        @{ Package = 'time'; Path = '/usr/bin/time' }                                # GNU time: the anchors' peak memory
    )
}
