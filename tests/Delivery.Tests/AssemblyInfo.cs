using System.Runtime.Versioning;

// These tests drive the Linux Docker engine and Linux containers; they run nowhere else.
[assembly: SupportedOSPlatform("linux")]
