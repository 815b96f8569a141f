using Microsoft.ML;
using StudentPerformance.Predictor.Model;

namespace StudentPerformance.Predictor.Training;

/// <summary>The ML.NET side of the model file: what serving's <see cref="ModelFile"/> cannot do without ML.NET.</summary>
public static class ModelSaver
{
    /// <summary>
    /// Folds <paramref name="model"/>, proves the fold against ML.NET on <paramref name="checkRows"/> and one probe row
    /// per category value, then writes the model file (atomically). Returns the model version: the first 16 hex
    /// characters of the saved file's sha256.
    /// </summary>
    /// <exception cref="NotSupportedException">The model is not the pipeline the scorer can fold, or the fold disagrees with ML.NET.</exception>
    public static string Save(
        string path, MLContext ml, ITransformer model, DataViewSchema inputSchema, ModelMetadata metadata, IEnumerable<StudentFeatures>? checkRows = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(ml);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(metadata);
        var scorer = LinearFold.FoldAndVerify(ml, model, inputSchema, checkRows ?? []);
        using var buffer = new MemoryStream();
        ml.Model.Save(model, inputSchema, buffer);
        return ModelFile.Write(path, metadata, scorer, buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    }

    /// <summary>The model of record: ML.NET's own transformer and input schema (tests prove the scorer against it).</summary>
    /// <exception cref="ModelLoadException">The file or its ML.NET entry cannot be read.</exception>
    public static (ITransformer Model, DataViewSchema InputSchema) ReadMlNetModel(string path, MLContext ml)
    {
        ArgumentNullException.ThrowIfNull(ml);
        var bytes = ModelFile.ReadMlNetModel(path);
        try
        {
            using var buffer = new MemoryStream(bytes, writable: false);
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
}
