using BulkData.Engine;
using BulkData.Engine.Services;
using Xunit;

namespace BulkData.Engine.Tests.Services;

public class ComposeParsingTests
{
    // As compose 2.21 and later print it: the docker ps formatter, one object per line.
    private const string Lines = """
        {"Command":"\"docker-entrypoint.s…\"","CreatedAt":"2026-11-28 10:00:00 +0000 UTC","ExitCode":0,"Health":"","ID":"a1","Image":"postgres:15","Labels":"com.docker.compose.project=courtlistener","LocalVolumes":"1","Mounts":"","Name":"cl-postgres","Names":"cl-postgres","Networks":"cl_net_overlay","Ports":"5432/tcp","Project":"courtlistener","Publishers":[{"URL":"0.0.0.0","TargetPort":5432,"PublishedPort":5432,"Protocol":"tcp"}],"RunningFor":"2 hours ago","Service":"cl-postgresql","Size":"0B","State":"running","Status":"Up 2 hours"}
        {"Command":"\"/bin/sh -c 'gunicorn…'\"","CreatedAt":"2026-11-28 10:00:00 +0000 UTC","ExitCode":137,"Health":"","ID":"b2","Image":"freelawproject/courtlistener:latest-web-dev","Labels":"","LocalVolumes":"0","Mounts":"","Name":"cl-django","Names":"cl-django","Networks":"cl_net_overlay","Ports":"","Project":"courtlistener","Publishers":[],"RunningFor":"2 hours ago","Service":"cl-django","Size":"0B","State":"exited","Status":"Exited (137) 3 minutes ago"}

        """;

    // As compose before 2.21 printed it: one JSON array.
    private const string Array = """
        [{"ID":"a1","Name":"cl-postgres","Image":"postgres:15","Command":"docker-entrypoint.sh postgres","Project":"courtlistener","Service":"cl-postgresql","Created":1700000000,"State":"running","Status":"Up 2 hours","Health":"","ExitCode":0,"Publishers":null},{"ID":"b2","Name":"cl-django","Image":"freelawproject/courtlistener:latest-web-dev","Command":"gunicorn","Project":"courtlistener","Service":"cl-django","Created":1700000000,"State":"exited","Status":"Exited (137) 3 minutes ago","Health":"","ExitCode":137,"Publishers":null}]
        """;

    [Theory]
    [InlineData(Lines)]
    [InlineData(Array)]
    public void Both_ps_shapes_give_the_same_containers(string output)
    {
        var containers = ComposePsParser.Parse(output);

        Assert.Equal(2, containers.Count);
        Assert.Equal(("cl-postgres", "cl-postgresql", "courtlistener", "running", true), (containers[0].Name, containers[0].Service, containers[0].Project, containers[0].State, containers[0].IsUp));
        Assert.Equal(("cl-django", "cl-django", "exited", 137, false), (containers[1].Name, containers[1].Service, containers[1].State, containers[1].ExitCode, containers[1].IsUp));
        Assert.Equal("Exited (137) 3 minutes ago", containers[1].Status);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n")]
    [InlineData("[]")]
    public void No_containers_is_an_empty_list(string output) => Assert.Empty(ComposePsParser.Parse(output));

    [Fact]
    public void Output_that_is_not_json_is_an_error_quoting_it()
    {
        var ex = Assert.Throws<BulkDataException>(() => ComposePsParser.Parse("NAME   IMAGE   SERVICE\ncl-django  x  cl-django"));
        Assert.Equal(BulkErrorKind.InvalidData, ex.Kind);
        Assert.Contains("NAME   IMAGE", ex.Message);
    }

    [Fact]
    public void A_service_is_up_while_any_of_its_containers_is()
    {
        var status = ComposeServiceStatus.Group(new[]
        {
            new ComposeContainer { Name = "p-w-1", Service = "w", Project = "p", State = "exited" },
            new ComposeContainer { Name = "p-w-2", Service = "w", Project = "p", State = "restarting" },
            new ComposeContainer { Name = "p-x-1", Service = "x", Project = "p", State = "created" },
        });
        Assert.True(status["w"].IsUp);
        Assert.Equal("restarting", status["w"].State);
        Assert.False(status["x"].IsUp);
        Assert.Equal("created", status["x"].State);
    }

    private static IReadOnlyDictionary<string, ComposeServiceStatus> Project(params (string Service, string State)[] services)
        => ComposeServiceStatus.Group(services.Select(s => new ComposeContainer { Name = $"p-{s.Service}-1", Service = s.Service, Project = "p", State = s.State }));

    [Fact]
    public void Plan_stops_every_up_service_but_the_kept_ones()
    {
        var plan = NonEssentialServices.PlanStop(
            Project(("cl-postgresql", "running"), ("cl-bulk-data", "running"), ("cl-django", "running"), ("cl-es", "paused"), ("cl-webpack", "exited")),
            keep: null, services: null, "p");
        Assert.Equal(new[] { "cl-django", "cl-es" }, plan.ToStop.Select(s => s.Service));
        Assert.Contains(plan.Skipped, s => s.Service == "cl-postgresql" && s.Reason.StartsWith("kept"));
        Assert.Contains(plan.Skipped, s => s.Service == "cl-webpack" && s.Reason == "already exited");
    }

    [Fact]
    public void Plan_with_named_services_stops_exactly_those_and_names_unknown_ones()
    {
        var project = Project(("cl-postgresql", "running"), ("cl-django", "running"), ("cl-celery", "running"));
        var plan = NonEssentialServices.PlanStop(project, keep: new[] { "cl-django" }, services: new[] { "cl-celery" }, "p");
        Assert.Equal(new[] { "cl-celery" }, plan.ToStop.Select(s => s.Service));

        var ex = Assert.Throws<BulkDataException>(() => NonEssentialServices.PlanStop(project, null, new[] { "cl-celery", "cl-nosuch" }, "compose project 'p'"));
        Assert.Equal(BulkErrorKind.ObjectNotFound, ex.Kind);
        Assert.Contains("cl-nosuch", ex.Message);
        Assert.Contains("compose project 'p'", ex.Message);
        Assert.Equal("cl-nosuch", ex.Target);
    }

    [Fact]
    public void Project_options_are_passed_only_when_given()
    {
        Assert.Empty(new ComposeProject().Arguments());
        Assert.Equal(
            new[] { "--project-directory", "/cl/docker/courtlistener", "-f", "a.yml", "-f", "b.yml", "-p", "courtlistener" },
            new ComposeProject("/cl/docker/courtlistener", new[] { "a.yml", "b.yml" }, "courtlistener").Arguments());
    }

    [Fact]
    public async Task A_missing_docker_program_is_an_error_naming_it_and_the_project()
    {
        var compose = new DockerCompose("/nonexistent/bin/docker", new ComposeProject(projectName: "courtlistener"));
        var ex = await Assert.ThrowsAsync<BulkDataException>(() => compose.ListAsync(true, NullReporter.Instance, CancellationToken.None));
        Assert.Equal(BulkErrorKind.ExternalCommandFailed, ex.Kind);
        Assert.Contains("'/nonexistent/bin/docker' could not be started", ex.Message);
        Assert.Contains("compose project 'courtlistener'", ex.Message);
    }
}
