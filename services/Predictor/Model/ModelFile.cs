using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.ML;

namespace StudentPerformance.Predictor.Model;

/// <summary>
/// The model file: a zip holding <c>metadata.json</c> (what GetModelInfo reports) and ML.NET's own model zip.
/// One file, so the metadata can never drift from the weights it describes.
/// </summary>
public static class ModelFile
{
    public const int FormatVersion = 1;
    internal const string MetadataEntry = "metadata.json";
    internal const string MlNetEntry = "mlnet/model.zip";

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    /// <summary>The model file's content: the fitted ML.NET transformer, its input schema and the metadata.</summary>
    public sealed record Contents(ITransformer Model, DataViewSchema InputSchema, ModelMetadata Metadata, string Version);

    /// <summary>
    /// Writes the file atomically (temp file, then rename) so a failed save never leaves half a model behind.
    /// Returns the model version: the first 16 hex characters of the saved file's sha256.
    /// </summary>
    public static string Save(string path, MLContext ml, ITransformer model, DataViewSchema inputSchema, ModelMetadata metadata)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(ml);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(metadata);

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
                JsonSerializer.Serialize(stream, new ModelManifest(FormatVersion, metadata), Json);
            }

            // ML.NET's zip is already compressed; storing it avoids compressing twice.
            var modelEntry = zip.CreateEntry(MlNetEntry, CompressionLevel.NoCompression);
            modelEntry.LastWriteTime = metadata.TrainedAt;
            using var buffer = new MemoryStream();
            ml.Model.Save(model, inputSchema, buffer);
            buffer.Position = 0;
            using var entryStream = modelEntry.Open();
            buffer.CopyTo(entryStream);
        }

        File.Move(temp, full, overwrite: true);
        return VersionOf(File.ReadAllBytes(full));
    }

    /// <summary>Reads and checks a model file; every failure is a <see cref="ModelLoadException"/> naming path and reason.</summary>
    public static Contents Read(string path, MLContext ml)
    {
        ArgumentNullException.ThrowIfNull(ml);
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ModelLoadException(path ?? "", "no model path configured");
        }

        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ModelLoadException(path, "file not found", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException(path, $"cannot read file ({e.Message})", e);
        }

        ZipArchive zip;
        try
        {
            zip = new ZipArchive(new MemoryStream(bytes, writable: false), ZipArchiveMode.Read);
        }
        catch (InvalidDataException e)
        {
            throw new ModelLoadException(path, "not a model file (not a zip archive)", e);
        }

        using (zip)
        {
            var metadata = ReadMetadata(path, zip);
            var (model, schema) = ReadMlNetModel(path, zip, ml);
            CheckInputSchema(path, schema);
            return new Contents(model, schema, metadata, VersionOf(bytes));
        }
    }

    internal static string VersionOf(byte[] fileBytes) =>
        Convert.ToHexStringLower(SHA256.HashData(fileBytes))[..16];

    private static ModelMetadata ReadMetadata(string path, ZipArchive zip)
    {
        var entry = zip.GetEntry(MetadataEntry)
            ?? throw new ModelLoadException(path, $"missing {MetadataEntry} (not a Predictor model file)");
        ModelManifest? manifest;
        try
        {
            using var stream = entry.Open();
            manifest = JsonSerializer.Deserialize<ModelManifest>(stream, Json);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or NotSupportedException)
        {
            throw new ModelLoadException(path, $"unreadable {MetadataEntry}: {e.Message}", e);
        }

        if (manifest is null)
        {
            throw new ModelLoadException(path, $"empty {MetadataEntry}");
        }

        if (manifest.FormatVersion != FormatVersion)
        {
            throw new ModelLoadException(path, $"model format {manifest.FormatVersion} is not supported (expected {FormatVersion})");
        }

        return manifest.Metadata;
    }

    private static (ITransformer Model, DataViewSchema Schema) ReadMlNetModel(string path, ZipArchive zip, MLContext ml)
    {
        var entry = zip.GetEntry(MlNetEntry) ?? throw new ModelLoadException(path, $"missing {MlNetEntry}");
        try
        {
            using var buffer = new MemoryStream();
            using (var stream = entry.Open())
            {
                stream.CopyTo(buffer);
            }

            buffer.Position = 0;
            var model = ml.Model.Load(buffer, out var schema);
            return (model, schema);
        }
#pragma warning disable CA1031 // ML.NET reports a corrupt model with many exception types; each becomes one clear reason.
        catch (Exception e) when (e is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            throw new ModelLoadException(path, $"ML.NET model unreadable: {e.Message}", e);
        }
    }

    private static void CheckInputSchema(string path, DataViewSchema schema)
    {
        foreach (var name in StudentColumns.Categorical)
        {
            var column = schema.GetColumnOrNull(name);
            if (column is null || column.Value.Type.RawType != typeof(ReadOnlyMemory<char>))
            {
                throw new ModelLoadException(path, $"wrong input schema: expected text column '{name}'");
            }
        }

        foreach (var name in StudentColumns.Numeric)
        {
            var column = schema.GetColumnOrNull(name);
            if (column is null || column.Value.Type.RawType != typeof(float))
            {
                throw new ModelLoadException(path, $"wrong input schema: expected float column '{name}'");
            }
        }
    }

    private sealed record ModelManifest(int FormatVersion, ModelMetadata Metadata);
}
