namespace StudentPerformance.Bench.Cli;

/// <summary>Finds the repository root by walking up from the executable to the folder with the solution file.</summary>
internal static class RepoPaths
{
    public static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "StudentPerformance.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new UsageException("cannot find the repository root (no StudentPerformance.slnx above the benchmark)");
    }

    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
