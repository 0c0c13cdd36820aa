# Dot-sourced by the benchmark scripts.

function Get-Median([double[]] $values) {
    $sorted = @($values | Sort-Object)
    $n = $sorted.Count
    if ($n % 2) { $sorted[($n - 1) / 2] } else { ($sorted[$n / 2 - 1] + $sorted[$n / 2]) / 2 }
}

# The two below write their scratch files to $WorkDir, a parameter of every benchmark script.

function Measure-Shell {
    <# Runs a shell command line; returns wall seconds and the peak resident memory (MB) of the command (GNU time). #>
    param([string] $CommandLine)
    $metrics = Join-Path $WorkDir 'time.out'
    $sw = [Diagnostics.Stopwatch]::StartNew()
    & /usr/bin/time -o $metrics -f '%M %U %S' sh -c $CommandLine
    if ($LASTEXITCODE -ne 0) { throw "'$CommandLine' failed with exit code $LASTEXITCODE" }
    $sw.Stop()
    $peak, $user, $sys = (Get-Content $metrics | Select-Object -Last 1) -split ' '
    [pscustomobject]@{ Seconds = $sw.Elapsed.TotalSeconds; CpuSeconds = [double]$user + [double]$sys; PeakMB = [double]$peak / 1024 }
}

function Invoke-ChildPwsh {
    <# Runs a script in a fresh pwsh (the module loaded, not timed); returns the JSON it prints last. #>
    param([string] $Script)
    $file = Join-Path $WorkDir 'child.ps1'
    Set-Content -Path $file -Value $Script
    $out = & ([Environment]::ProcessPath) (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -File $file
    if ($LASTEXITCODE -ne 0) { throw "child pwsh failed: $out" }
    ($out | Select-Object -Last 1) | ConvertFrom-Json
}
