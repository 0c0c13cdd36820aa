using System.Reflection;
using System.Reflection.Emit;
using Xunit;

namespace BulkData.Engine.Tests;

/// <summary>
/// The folder rules of docs/architecture.md, checked on the compiled engine: every type's references (base types,
/// members' signatures, and every type, method and field its IL names) may reach only the namespaces its folder is
/// allowed to use. Compiler-generated types (lambdas, async state machines) count for the type that declares them.
/// </summary>
public sealed class ArchitectureTests
{
    private const string Root = "BulkData.Engine";

    /// <summary>Each folder's namespace and the engine namespaces it may use (besides its own and Common's <c>BulkData.Engine</c>).</summary>
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        [Root] = Array.Empty<string>(),
        [$"{Root}.Compression"] = Array.Empty<string>(),
        [$"{Root}.Storage"] = Array.Empty<string>(),
        [$"{Root}.Manifest"] = new[] { $"{Root}.Storage" },
        [$"{Root}.DumpFiles"] = new[] { $"{Root}.Compression", $"{Root}.Manifest" },
        [$"{Root}.Transfer"] = new[] { $"{Root}.Storage", $"{Root}.Manifest", $"{Root}.DumpFiles" },
        [$"{Root}.Import.Sql"] = Array.Empty<string>(),
        [$"{Root}.Import.Schema"] = new[] { $"{Root}.Import.Sql", $"{Root}.Import.Schema.Tolerance" },
        [$"{Root}.Import.Schema.Tolerance"] = new[] { $"{Root}.Import.Sql" },
        [$"{Root}.Import.Tables"] = new[] { $"{Root}.Import.Sql", $"{Root}.Compression", $"{Root}.DumpFiles" },
        [$"{Root}.Import.Schedule"] = new[] { $"{Root}.Import.Sql", $"{Root}.Import.Schema", $"{Root}.Import.Tables" },
        [$"{Root}.Import"] = new[] { $"{Root}.Import.Sql", $"{Root}.Import.Schema", $"{Root}.Import.Tables", $"{Root}.Import.Schedule", $"{Root}.DumpFiles", $"{Root}.Manifest", $"{Root}.Storage", $"{Root}.Transfer" },
        [$"{Root}.Services"] = Array.Empty<string>(),
    };

    /// <summary>Outside libraries and the only folders that may use them.</summary>
    private static readonly (string Prefix, string[] Folders)[] Libraries =
    {
        ("Amazon", new[] { $"{Root}.Storage" }),
        ("Npgsql", new[] { $"{Root}.Import", $"{Root}.Import.Sql", $"{Root}.Import.Schema", $"{Root}.Import.Schema.Tolerance", $"{Root}.Import.Tables", $"{Root}.Import.Schedule" }),
        ("System.Management.Automation", Array.Empty<string>()),
    };

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    private static Assembly Engine => typeof(BulkDataException).Assembly;

    [Fact]
    public void Every_engine_namespace_is_a_folder_of_the_architecture_page()
    {
        var unknown = Engine.GetTypes().Select(t => Owner(t).Namespace ?? "").Where(n => !n.StartsWith("<", StringComparison.Ordinal) && n.Length > 0).Distinct()
            .Where(n => !Allowed.ContainsKey(n) && !n.StartsWith("System.", StringComparison.Ordinal) && !n.StartsWith("Microsoft.", StringComparison.Ordinal)).ToList();
        Assert.Empty(unknown);
        string page = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "architecture.md"));
        Assert.All(Allowed.Keys.Where(k => k != Root), ns => Assert.Contains($"`{ns[(Root.Length + 1)..].Replace('.', '/')}/`", page, StringComparison.Ordinal));
    }

    [Fact]
    public void No_folder_uses_a_namespace_its_rules_forbid()
    {
        var violations = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var type in Engine.GetTypes())
        {
            var owner = Owner(type);
            string from = owner.Namespace ?? Root;
            if (!Allowed.TryGetValue(from, out var allowed))
            {
                continue; // compiler-made namespaces (e.g. System.Text.RegularExpressions.Generated)
            }

            foreach (var used in References(type))
            {
                string to = Owner(used).Namespace ?? "";
                bool engine = used.Assembly == Engine && Allowed.ContainsKey(to);
                if (engine && to != from && to != Root && !allowed.Contains(to))
                {
                    violations.Add($"{owner.FullName} ({from}) uses {Owner(used).FullName} ({to})");
                }

                foreach (var (prefix, folders) in Libraries)
                {
                    if ((to == prefix || to.StartsWith(prefix + ".", StringComparison.Ordinal)) && !folders.Contains(from))
                    {
                        violations.Add($"{owner.FullName} ({from}) uses {used.FullName} ({prefix})");
                    }
                }
            }
        }

        Assert.True(violations.Count == 0, "Forbidden references:\n" + string.Join("\n", violations));
    }

    [Fact]
    public void The_check_sees_references_made_only_inside_method_bodies()
    {
        // The downloader names the object store only in its methods' code and fields: it must be seen.
        var downloader = Engine.GetType($"{Root}.Transfer.ObjectDownloader", throwOnError: true)!;
        var seen = References(downloader).Select(t => Owner(t).Namespace).ToHashSet();
        Assert.Contains($"{Root}.Storage", seen);
        Assert.Contains($"{Root}.DumpFiles", seen);
        // And a lambda's body counts for the type that wrote it (BulkFetcher's download lambda creates the downloader).
        var fetcher = Engine.GetType($"{Root}.Transfer.BulkFetcher", throwOnError: true)!;
        Assert.Contains(Engine.GetTypes().Where(t => Owner(t) == fetcher).SelectMany(References), t => t.Name == "ObjectDownloader");
    }

    private static Type Owner(Type t)
    {
        while (t.DeclaringType is not null)
        {
            t = t.DeclaringType;
        }

        return t;
    }

    private static IEnumerable<Type> References(Type type)
    {
        var found = new HashSet<Type>();
        void Add(Type? t)
        {
            if (t is null)
            {
                return;
            }

            if (t.HasElementType)
            {
                Add(t.GetElementType());
                return;
            }

            if (t.IsGenericParameter || !found.Add(t))
            {
                return;
            }

            if (t.IsGenericType)
            {
                foreach (var a in t.GetGenericArguments())
                {
                    Add(a);
                }

                if (!t.IsGenericTypeDefinition)
                {
                    Add(t.GetGenericTypeDefinition());
                }
            }
        }

        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        Add(type.BaseType);
        foreach (var i in type.GetInterfaces())
        {
            Add(i);
        }

        foreach (var f in type.GetFields(all))
        {
            Add(f.FieldType);
        }

        foreach (var m in type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all)))
        {
            if (m is MethodInfo mi)
            {
                Add(mi.ReturnType);
            }

            foreach (var p in m.GetParameters())
            {
                Add(p.ParameterType);
            }

            var body = m.GetMethodBody();
            if (body is null)
            {
                continue;
            }

            foreach (var local in body.LocalVariables)
            {
                Add(local.LocalType);
            }

            foreach (var token in Tokens(body.GetILAsByteArray()!))
            {
                try
                {
                    var typeArgs = type.IsGenericType ? type.GetGenericArguments() : null;
                    var methodArgs = m.IsGenericMethod ? m.GetGenericArguments() : null;
                    switch (type.Module.ResolveMember(token, typeArgs, methodArgs))
                    {
                        case Type t:
                            Add(t);
                            break;
                        case MethodBase called:
                            Add(called.DeclaringType);
                            if (called is MethodInfo cm)
                            {
                                Add(cm.ReturnType);
                                if (cm.IsGenericMethod)
                                {
                                    foreach (var a in cm.GetGenericArguments())
                                    {
                                        Add(a);
                                    }
                                }
                            }

                            break;
                        case FieldInfo field:
                            Add(field.DeclaringType);
                            Add(field.FieldType);
                            break;
                    }
                }
                catch (ArgumentException)
                {
                    // A string or signature token: not a member.
                }
            }
        }

        return found;
    }

    /// <summary>The metadata tokens an IL body names (operands of type, method, field and member instructions).</summary>
    private static IEnumerable<int> Tokens(byte[] il)
    {
        int i = 0;
        while (i < il.Length)
        {
            short value = il[i] == 0xFE && i + 1 < il.Length ? (short)(0xFE00 | il[++i]) : il[i];
            i++;
            var op = OpCodesByValue[value];
            switch (op.OperandType)
            {
                case OperandType.InlineField or OperandType.InlineMethod or OperandType.InlineType or OperandType.InlineTok:
                    yield return BitConverter.ToInt32(il, i);
                    i += 4;
                    break;
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                    i += 1;
                    break;
                case OperandType.InlineVar:
                    i += 2;
                    break;
                case OperandType.InlineI8 or OperandType.InlineR:
                    i += 8;
                    break;
                case OperandType.InlineSwitch:
                    int n = BitConverter.ToInt32(il, i);
                    i += 4 + (4 * n);
                    break;
                default:
                    i += 4;
                    break;
            }
        }
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "BulkData.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("BulkData.sln not found above " + AppContext.BaseDirectory);
    }
}
