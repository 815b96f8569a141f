using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace StudentPerformance.Predictor.Model;

/// <summary>
/// The model file: a zip holding <c>metadata.json</c> (what GetModelInfo reports), <c>linear.json</c> (the model
/// folded into a linear scorer, what serving computes) and ML.NET's own model zip (the model of record).
/// One file, so the metadata can never drift from the weights it describes.
/// </summary>
/// <remarks>
/// The format lives here, reader and writer together and free of ML.NET; the trainer in services/Predictor.Training
/// fits the ML.NET model, folds it, proves the fold and hands both to <see cref="Write"/>.
/// Format 2 added <c>linear.json</c>: the trainer folds the ML.NET model and proves the fold against ML.NET before
/// saving, so start-up builds the scorer from the saved weights without loading ML.NET (which cost most of the
/// start-up time and memory). Loading still reads every entry through and checks its CRC-32, so a corrupt file,
/// including a corrupt ML.NET entry, fails at start.
/// </remarks>
public static class ModelFile
{
    public const int FormatVersion = 2;
    internal const string MetadataEntry = "metadata.json";
    internal const string LinearEntry = "linear.json";
    internal const string MlNetEntry = "mlnet/model.zip";

    /// <summary>The model file's content as served: the metadata, the folded scorer and the version.</summary>
    internal sealed record Contents(ModelMetadata Metadata, LinearScorer Scorer, string Version);

    /// <summary>
    /// Writes the file atomically (temp file, then rename) so a failed save never leaves half a model behind.
    /// <paramref name="mlNetModel"/> is ML.NET's own saved model (a zip), stored as the model of record; the trainer
    /// (services/Predictor.Training) proves <paramref name="scorer"/> against it before it calls this. Returns the
    /// model version: the first 16 hex characters of the saved file's sha256.
    /// </summary>
    internal static string Write(string path, ModelMetadata metadata, LinearScorer scorer, ReadOnlySpan<byte> mlNetModel)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(scorer);

        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        using (var zip = new ZipArchive(file, ZipArchiveMode.Create))
        {
            var metadataEntry = zip.CreateEntry(MetadataEntry, CompressionLevel.Optimal);
            metadataEntry.LastWriteTime = metadata.TrainedAt;
            using (var stream = metadataEntry.Open())
            {
                JsonSerializer.Serialize(stream, new ModelManifest(FormatVersion, metadata), ModelFileJson.Default.ModelManifest);
            }

            var linearEntry = zip.CreateEntry(LinearEntry, CompressionLevel.Optimal);
            linearEntry.LastWriteTime = metadata.TrainedAt;
            using (var stream = linearEntry.Open())
            {
                JsonSerializer.Serialize(stream, scorer.ToWeights(), ModelFileJson.Default.LinearWeights);
            }

            // ML.NET's zip is already compressed; storing it avoids compressing twice.
            var modelEntry = zip.CreateEntry(MlNetEntry, CompressionLevel.NoCompression);
            modelEntry.LastWriteTime = metadata.TrainedAt;
            using var entryStream = modelEntry.Open();
            entryStream.Write(mlNetModel);
        }

        File.Move(temp, full, overwrite: true);
        return VersionOf(File.ReadAllBytes(full));
    }

    /// <summary>
    /// Reads and checks a model file without ML.NET; every failure is a <see cref="ModelLoadException"/> naming path
    /// and reason.
    /// </summary>
    internal static Contents Read(string path)
    {
        var bytes = ReadBytes(path);
        using var zip = OpenZip(path, bytes);
        var metadata = ReadMetadata(path, zip);
        var scorer = ReadScorer(path, zip);
        CheckMlNetEntry(path, zip);
        return new Contents(metadata, scorer, VersionOf(bytes));
    }

    /// <summary>
    /// The model of record's bytes (ML.NET's own zip), CRC-checked, for the trainer and the tests to load with
    /// ML.NET. Throws <see cref="ModelLoadException"/> naming path and reason.
    /// </summary>
    internal static byte[] ReadMlNetModel(string path)
    {
        using var zip = OpenZip(path, ReadBytes(path));
        var entry = zip.GetEntry(MlNetEntry) ?? throw new ModelLoadException(path, $"missing {MlNetEntry}");
        try
        {
            return ReadChecked(entry);
        }
        catch (InvalidDataException e)
        {
            throw new ModelLoadException(path, $"ML.NET model unreadable: {e.Message}", e);
        }
    }

    internal static string VersionOf(byte[] fileBytes) =>
        Convert.ToHexStringLower(SHA256.HashData(fileBytes))[..16];

    private static byte[] ReadBytes(string path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ModelLoadException(path ?? "", "no model path configured");
        }

        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ModelLoadException(path, "file not found", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException(path, $"cannot read file ({e.Message})", e);
        }
    }

    private static ZipArchive OpenZip(string path, byte[] bytes)
    {
        try
        {
            return new ZipArchive(new MemoryStream(bytes, writable: false), ZipArchiveMode.Read);
        }
        catch (InvalidDataException e)
        {
            throw new ModelLoadException(path, "not a model file (not a zip archive)", e);
        }
    }

    private static ModelMetadata ReadMetadata(string path, ZipArchive zip)
    {
        var entry = zip.GetEntry(MetadataEntry)
            ?? throw new ModelLoadException(path, $"missing {MetadataEntry} (not a Predictor model file)");
        ModelManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize(ReadChecked(entry), ModelFileJson.Default.ModelManifest);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or NotSupportedException)
        {
            throw new ModelLoadException(path, $"unreadable {MetadataEntry}: {e.Message}", e);
        }

        if (manifest is null)
        {
            throw new ModelLoadException(path, $"empty {MetadataEntry}");
        }

        if (manifest.FormatVersion < FormatVersion)
        {
            throw new ModelLoadException(path,
                $"model format {manifest.FormatVersion} is too old (expected {FormatVersion}, which stores the folded linear weights); retrain it with this version's `train` command");
        }

        if (manifest.FormatVersion != FormatVersion)
        {
            throw new ModelLoadException(path, $"model format {manifest.FormatVersion} is not supported (expected {FormatVersion})");
        }

        return manifest.Metadata;
    }

    private static LinearScorer ReadScorer(string path, ZipArchive zip)
    {
        var entry = zip.GetEntry(LinearEntry) ?? throw new ModelLoadException(path, $"missing {LinearEntry}");
        try
        {
            var weights = JsonSerializer.Deserialize(ReadChecked(entry), ModelFileJson.Default.LinearWeights)
                ?? throw new InvalidDataException("empty");
            return LinearScorer.FromWeights(weights);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or NotSupportedException)
        {
            throw new ModelLoadException(path, $"unreadable {LinearEntry}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Serving does not load the ML.NET model, but a damaged one still means a damaged file: check the entry's CRC
    /// and that it is a zip whose own entries pass their CRCs. A few milliseconds, against hundreds for ML.NET's load.
    /// </summary>
    private static void CheckMlNetEntry(string path, ZipArchive zip)
    {
        var entry = zip.GetEntry(MlNetEntry) ?? throw new ModelLoadException(path, $"missing {MlNetEntry}");
        try
        {
            using var inner = new ZipArchive(new MemoryStream(ReadChecked(entry), writable: false), ZipArchiveMode.Read);
            if (inner.Entries.Count == 0)
            {
                throw new InvalidDataException("no entries");
            }

            foreach (var innerEntry in inner.Entries)
            {
                _ = ReadChecked(innerEntry);
            }
        }
        catch (InvalidDataException e)
        {
            throw new ModelLoadException(path, $"ML.NET model unreadable: {e.Message}", e);
        }
    }

    /// <summary>
    /// The entry's bytes, checked against the CRC-32 its header records (.NET 10's ZipArchive does not check it).
    /// Throws <see cref="InvalidDataException"/> naming the entry.
    /// </summary>
    private static byte[] ReadChecked(ZipArchiveEntry entry)
    {
        if (entry.Length > MaxEntryBytes)
        {
            throw new InvalidDataException($"{entry.FullName} claims {entry.Length} bytes (limit {MaxEntryBytes})");
        }

        var bytes = new byte[entry.Length];
        using (var stream = entry.Open())
        {
            stream.ReadExactly(bytes);
            if (stream.ReadByte() != -1)
            {
                throw new InvalidDataException($"{entry.FullName} is longer than its header says");
            }
        }

        if (Crc32.Compute(bytes) != entry.Crc32)
        {
            throw new InvalidDataException($"{entry.FullName} fails its CRC-32 check (damaged file)");
        }

        return bytes;
    }

    /// <summary>Far above any real entry (the ML.NET model is tens of KB); stops a bad header asking for gigabytes.</summary>
    private const long MaxEntryBytes = 64L * 1024 * 1024;

    internal sealed record ModelManifest(int FormatVersion, ModelMetadata Metadata);
}

/// <summary>Source-generated JSON for the model file: no reflection-based serializer warm-up at start.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    WriteIndented = true,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(ModelFile.ModelManifest))]
[JsonSerializable(typeof(LinearWeights))]
internal sealed partial class ModelFileJson : JsonSerializerContext;

/// <summary>CRC-32 (IEEE 802.3, as zip uses), table-driven.</summary>
internal static class Crc32
{
    private static readonly uint[] Table = CreateTable();

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFF_FFFFu;
        foreach (var b in data)
        {
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return ~crc;
    }

    private static uint[] CreateTable()
    {
        var table = new uint[256];
        for (var n = 0u; n < table.Length; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB8_8320u ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}
