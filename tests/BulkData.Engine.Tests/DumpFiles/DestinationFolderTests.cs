using BulkData.Engine.DumpFiles;
using Xunit;

namespace BulkData.Engine.Tests.DumpFiles;

public class DestinationFolderTests
{
    private static readonly string[] MountInfo =
    {
        "22 1 0:21 / / rw,relatime - overlay overlay rw,lowerdir=/a",
        "23 22 0:22 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw",
        "24 22 0:23 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro",
        "25 22 0:24 / /srv/bulk\\040data rw,relatime shared:5 - ext4 /dev/sdb1 rw",
        "26 25 0:25 / /srv/bulk\\040data/ro ro,relatime - tmpfs tmpfs ro,size=1024k",
    };

    [Theory]
    [InlineData("/srv/bulk data/x", "/srv/bulk data", "ext4", false)]
    [InlineData("/srv/bulk data/ro/x", "/srv/bulk data/ro", "tmpfs", true)]
    [InlineData("/srv/bulk datax", "/", "overlay", false)]
    [InlineData("/proc/1", "/proc", "proc", false)]
    [InlineData("/sys", "/sys", "sysfs", true)]
    public void The_mount_of_a_path_is_the_longest_mount_point_containing_it(string path, string point, string type, bool readOnly)
    {
        var mount = DestinationFolder.MountOf(path, MountInfo);
        Assert.Equal((point, type, readOnly), mount);
    }

    [Fact]
    public void A_destination_under_a_file_names_the_file_and_writes_nothing()
    {
        string dir = Directory.CreateTempSubdirectory("bulkdata-dest-").FullName;
        try
        {
            string file = Path.Combine(dir, "f");
            File.WriteAllText(file, "x");
            var e = Assert.Throws<BulkDataException>(() => DestinationFolder.Check(Path.Combine(file, "a", "b")));
            Assert.Equal(BulkErrorKind.InvalidArgument, e.Kind);
            Assert.Contains($"under '{file}', which is a file", e.Message, StringComparison.Ordinal);
            Assert.Equal("x", File.ReadAllText(file));
            Assert.Single(Directory.GetFileSystemEntries(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_destination_on_proc_is_refused_as_a_pseudo_file_system()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var e = Assert.Throws<BulkDataException>(() => DestinationFolder.Check("/proc/bulkdata-test"));
        Assert.Contains("pseudo file system 'proc'", e.Message, StringComparison.Ordinal);
    }
}
