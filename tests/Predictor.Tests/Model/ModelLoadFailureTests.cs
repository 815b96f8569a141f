using System.IO.Compression;
using System.Text;
using Microsoft.ML;
using StudentPerformance.Predictor.Model;
using StudentPerformance.Predictor.Tests.Support;
using StudentPerformance.Predictor.Training;

namespace StudentPerformance.Predictor.Tests.Model;

[Collection(ReferenceModelGroup.Name)]
public sealed class ModelLoadFailureTests(ReferenceModelFixture fixture) : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Load_MissingFile_ThrowsNamingPathAndReason()
    {
        var path = _dir.File("absent/model.zip");

        var error = Assert.Throws<ModelLoadException>(() => ModelBundle.Load(path));

        Assert.Equal(path, error.ModelPath);
        Assert.Equal("file not found", error.Reason);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_NotAZip_ThrowsNotAModelFile()
    {
        var path = _dir.File("model.zip");
        File.WriteAllText(path, "this is not a model");

        var error = Assert.Throws<ModelLoadException>(() => ModelBundle.Load(path));

        Assert.Contains("not a zip", error.Reason, StringComparison.Ordinal);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TruncatedFile_Throws()
    {
        var path = _dir.File("model.zip");
        var bytes = File.ReadAllBytes(fixture.ModelPath);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        var error = Assert.Throws<ModelLoadException>(() => ModelBundle.Load(path));

        Assert.Equal(path, error.ModelPath);
    }

    [Fact]
    public void Load_BareMlNetZipWithoutMetadata_ThrowsMissingMetadata()
    {
        var path = Edit(zip => zip.GetEntry(ModelFile.MetadataEntry)!.Delete());

        var error = Assert.Throws<ModelLoadException>(() => ModelBundle.Load(path));

        Assert.Contains("missing metadata.json", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MetadataNotJson_ThrowsUnreadableMetadata()
    {
        var path = Edit(zip => Replace(zip, ModelFile.MetadataEntry, "{ not json"u8.ToArray()));

        var error = Assert.Throws<ModelLoadException>(() => ModelBundle.Load(path));

        Assert.Contains("unreadable metadata.json", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MetadataMissingAField_ThrowsUnreadableMetadata()
    {
        var path = Edit(zip =>
        {
            var json = Read(zip, ModelFile.MetadataEntry).Replace("\"holdout\"", "\"holdout_renamed\"", StringComparison.Ordinal);
            Replace(zip, ModelFile.MetadataEntry, Encoding.UTF8.GetBytes(json));
        });

        var error = Assert.Throws<ModelLoadException>(() => ModelBundle.Load(path));

        Assert.Contains("unreadable metadata.json", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_FutureFormatVersion_ThrowsNotSupported()
    {
        var path = Edit(zip => SetFormatVersion(zip, 99));

        var error = Assert.Throws<ModelLoadException>(() => ModelBundle.Load(path));

        Assert.Contains("format 99 is not supported", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_FormatOneFileWithoutLinearWeights_ThrowsTooOldRetrain()
    {
        var path = Edit(zip =>
        {
            SetFormatVersion(zip, 1);
            zip.GetEntry(ModelFile.LinearEntry)!.Delete();
        });

        var error = Assert.Throws<ModelLoadException>(() => ModelBundle.Load(path));

        Assert.Contains("model format 1 is too old", error.Reason, StringComparison.Ordinal);
        Assert.Contains("retrain", error.Reason, StringComparison.Ordinal);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_LinearWeightsMissing_ThrowsMissingLinearJson()
    {
        var path = Edit(zip => zip.GetEntry(ModelFile.LinearEntry)!.Delete());

        var error = Assert.Throws<ModelLoadException>(() => ModelBundle.Load(path));

        Assert.Contains("missing linear.json", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_LinearWeightsWithoutBias_ThrowsUnreadableLinearJson()
    {
        var path = Edit(zip =>
        {
            var json = Read(zip, ModelFile.LinearEntry).Replace("\"bias\"", "\"bias_renamed\"", StringComparison.Ordinal);
            Replace(zip, ModelFile.LinearEntry, Encoding.UTF8.GetBytes(json));
        });

        var error = Assert.Throws<ModelLoadException>(() => ModelBundle.Load(path));

        Assert.Contains("unreadable linear.json", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_LinearWeightsForAnotherField_ThrowsNamingTheField()
    {
        var path = Edit(zip =>
        {
            var json = Read(zip, ModelFile.LinearEntry).Replace("\"lunch\"", "\"meal\"", StringComparison.Ordinal);
            Replace(zip, ModelFile.LinearEntry, Encoding.UTF8.GetBytes(json));
        });

        var error = Assert.Throws<ModelLoadException>(() => ModelBundle.Load(path));

        Assert.Contains("unreadable linear.json", error.Reason, StringComparison.Ordinal);
        Assert.Contains("'lunch'", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ByteFlippedInsideStoredMlNetModel_ThrowsCrcFailure()
    {
        // Serving never loads the ML.NET entry, so only the CRC check can notice this damage.
        var path = _dir.File("flipped.zip");
        var bytes = File.ReadAllBytes(fixture.ModelPath);
        byte[] inner;
        using (var zip = new ZipArchive(new MemoryStream(bytes), ZipArchiveMode.Read))
        using (var stream = zip.GetEntry(ModelFile.MlNetEntry)!.Open())
        using (var copy = new MemoryStream())
        {
            stream.CopyTo(copy);
            inner = copy.ToArray();
        }

        var at = bytes.AsSpan().IndexOf(inner);
        Assert.True(at > 0, "the ML.NET entry is stored uncompressed");
        bytes[at + (inner.Length / 2)] ^= 0x20;
        File.WriteAllBytes(path, bytes);

        var error = Assert.Throws<ModelLoadException>(() => ModelBundle.Load(path));

        Assert.Contains("ML.NET model unreadable", error.Reason, StringComparison.Ordinal);
        Assert.Contains("CRC-32", error.Reason, StringComparison.Ordinal);
        Assert.Equal(path, error.ModelPath);
    }

    [Fact]
    public void Load_CorruptMlNetModel_ThrowsModelUnreadable()
    {
        var path = Edit(zip => Replace(zip, ModelFile.MlNetEntry, [1, 2, 3, 4]));

        var error = Assert.Throws<ModelLoadException>(() => ModelBundle.Load(path));

        Assert.Contains("ML.NET model unreadable", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Save_ModelTheScorerCannotFold_ThrowsAndWritesNothing()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromEnumerable([new OtherInput { Value = 1 }]);
        var model = ml.Transforms.CopyColumns("Score", nameof(OtherInput.Value)).Fit(data);
        var path = _dir.File("other.zip");

        var error = Assert.Throws<NotSupportedException>(() => ModelSaver.Save(path, ml, model, data.Schema, fixture.Bundle.Metadata));

        Assert.Contains("transformer chain", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Load_MetadataValuesDisagreeWithModel_Throws()
    {
        var metadata = fixture.Bundle.Metadata;
        var fields = metadata.CategoricalFields.ToArray();
        fields[1] = new CategoricalField("race_ethnicity", ["group A", "group B"]);
        var ml = new MLContext(seed: 0);
        var (model, schema) = ModelSaver.ReadMlNetModel(fixture.ModelPath, ml);
        var path = _dir.File("mismatch.zip");
        ModelSaver.Save(path, ml, model, schema, metadata with { CategoricalFields = fields });

        var error = Assert.Throws<ModelLoadException>(() => ModelBundle.Load(path));

        Assert.Contains("race_ethnicity", error.Reason, StringComparison.Ordinal);
    }

    public sealed class OtherInput
    {
        public float Value { get; set; }
    }

    private string Edit(Action<ZipArchive> change)
    {
        var path = _dir.File($"edited-{Guid.NewGuid():N}.zip");
        File.Copy(fixture.ModelPath, path);
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
        {
            change(zip);
        }

        return path;
    }

    private static void SetFormatVersion(ZipArchive zip, int version)
    {
        var json = Read(zip, ModelFile.MetadataEntry).Replace(
            $"\"format_version\": {ModelFile.FormatVersion}", $"\"format_version\": {version}", StringComparison.Ordinal);
        Replace(zip, ModelFile.MetadataEntry, Encoding.UTF8.GetBytes(json));
    }

    private static string Read(ZipArchive zip, string name)
    {
        using var reader = new StreamReader(zip.GetEntry(name)!.Open());
        return reader.ReadToEnd();
    }

    private static void Replace(ZipArchive zip, string name, byte[] content)
    {
        zip.GetEntry(name)!.Delete();
        using var stream = zip.CreateEntry(name).Open();
        stream.Write(content);
    }
}
