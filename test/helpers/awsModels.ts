/**
 * AWS's own API models (the JSON botocore ships: shapes with pattern, min, max and enum, and
 * each member's documentation), and a validator that checks a value against the API member it
 * is sent as. Debian's python3-botocore is read first; a member it does not know yet (added to
 * the API after Debian 12's botocore 1.29) is looked up in the botocore of the `python3` on
 * PATH, when there is one.
 *
 * Patterns are applied to the whole value, as the services apply them (DLM's reference:
 * "The characters ^[0-9A-Za-z _-]+$ are supported"; terraform-provider-aws anchors them the
 * same way in its validators).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";

export const DEBIAN_MODELS = "/usr/lib/python3/dist-packages/botocore/data";

interface Shape {
    type: string;
    pattern?: string;
    min?: number;
    max?: number;
    enum?: string[];
    members?: Record<string, { shape: string; documentation?: string }>;
    member?: { shape: string };
    key?: { shape: string };
    value?: { shape: string };
    documentation?: string;
}
interface Model {
    metadata: { apiVersion: string };
    operations: Record<string, { input?: { shape: string } }>;
    shapes: Record<string, Shape>;
}

let foundRoots: string[] | undefined;

/** Where the models are: Debian's first, then the botocore of the python3 on PATH. */
export function modelRoots(): string[] {
    if (foundRoots) return foundRoots;
    const roots: string[] = [];
    if (fs.existsSync(DEBIAN_MODELS)) roots.push(DEBIAN_MODELS);
    const py = spawnSync("python3", ["-c", "import botocore, os; print(os.path.join(os.path.dirname(botocore.__file__), 'data'))"], {
        encoding: "utf8",
    });
    const other = py.status === 0 ? py.stdout.trim() : "";
    if (other && other !== DEBIAN_MODELS && fs.existsSync(other)) roots.push(other);
    if (roots.length === 0) {
        throw new Error(
            "no AWS API models: install Debian's python3-botocore (`apt-get install python3-botocore`; .ci/run does) or botocore for the python3 on PATH",
        );
    }
    foundRoots = roots;
    return roots;
}

const cache = new Map<string, Model | null>();
function loadModel(root: string, service: string): Model | null {
    const key = `${root}|${service}`;
    if (cache.has(key)) return cache.get(key)!;
    const dir = path.join(root, service);
    let model: Model | null = null;
    if (fs.existsSync(dir)) {
        const version = fs.readdirSync(dir).sort().pop()!;
        const file = path.join(dir, version, "service-2.json");
        if (fs.existsSync(file)) model = JSON.parse(fs.readFileSync(file, "utf8"));
        else if (fs.existsSync(`${file}.gz`)) model = JSON.parse(zlib.gunzipSync(fs.readFileSync(`${file}.gz`)).toString("utf8"));
    }
    cache.set(key, model);
    return model;
}

export interface ResolvedMember {
    /** `service:Operation.Member...` as written in the field table. */
    api: string;
    shapeName: string;
    shape: Shape;
    documentation: string;
    /** Which model root answered. */
    root: string;
}

/**
 * Resolves `dlm:CreateLifecyclePolicy.PolicyDetails.Schedules.Name` (an operation's input,
 * then members; lists are entered on their way) or `ec2:#Tag.Key` (a shape by name).
 */
export function resolveMember(api: string, roots = modelRoots()): ResolvedMember {
    const [service, rest] = api.split(":") as [string, string];
    const [head, ...members] = rest.split(".");
    const tried: string[] = [];
    for (const root of roots) {
        const model = loadModel(root, service);
        if (!model) {
            tried.push(`${root}: no ${service} model`);
            continue;
        }
        const start = head!.startsWith("#") ? head!.slice(1) : model.operations[head!]?.input?.shape;
        if (!start || !model.shapes[start]) {
            tried.push(`${root}: no ${head}`);
            continue;
        }
        let shapeName: string = start;
        let documentation = "";
        let ok = true;
        for (const m of members) {
            let shape: Shape = model.shapes[shapeName]!;
            while (shape.type === "list") {
                shapeName = shape.member!.shape;
                shape = model.shapes[shapeName]!;
            }
            const member = shape.members?.[m];
            if (!member) {
                tried.push(`${root} (${service} ${model.metadata.apiVersion}): ${shapeName} has no member ${m}`);
                ok = false;
                break;
            }
            documentation = member.documentation ?? "";
            shapeName = member.shape;
        }
        if (!ok) continue;
        let shape: Shape = model.shapes[shapeName]!;
        while (shape.type === "list") {
            shapeName = shape.member!.shape;
            shape = model.shapes[shapeName]!;
        }
        return {
            api,
            shapeName,
            shape,
            documentation: (documentation || shape.documentation || "")
                .replace(/<[^>]+>/g, " ")
                .replace(/&amp;/g, "&")
                .replace(/&lt;/g, "<")
                .replace(/&gt;/g, ">")
                .replace(/\s+/g, " "),
            root,
        };
    }
    throw new Error(`${api}: not in the AWS API models (${tried.join("; ")})`);
}

/** Java regex classes the models use that JavaScript spells differently. */
function toJsPattern(p: string): RegExp {
    const js = p.replace(/\\p\{all\}/g, "\\s\\S").replace(/\\p\{Alnum\}/g, "A-Za-z0-9");
    return new RegExp(`^(?:${js})$`, "u");
}

/** Why `value` breaks the member's rules in the model, or undefined. */
export function modelViolation(m: ResolvedMember, value: unknown): string | undefined {
    const s = m.shape;
    if (s.type === "string") {
        if (typeof value !== "string") return `expected a string, got ${JSON.stringify(value)}`;
        if (s.min !== undefined && value.length < s.min) return `shorter than ${s.min}`;
        if (s.max !== undefined && value.length > s.max) return `longer than ${s.max}`;
        if (s.enum && !s.enum.includes(value))
            return `not one of ${s.enum.length > 12 ? `the ${s.enum.length} values of ${m.shapeName}` : s.enum.join(", ")}`;
        if (s.pattern && !toJsPattern(s.pattern).test(value)) return `does not match ${s.pattern}`;
    } else if (s.type === "integer" || s.type === "long") {
        if (typeof value !== "number" || !Number.isInteger(value)) return `expected an integer, got ${JSON.stringify(value)}`;
        if (s.min !== undefined && value < s.min) return `below ${s.min}`;
        if (s.max !== undefined && value > s.max) return `above ${s.max}`;
    } else if (s.type === "boolean") {
        if (typeof value !== "boolean") return `expected a boolean, got ${JSON.stringify(value)}`;
    } else if (s.type === "double") {
        if (typeof value !== "number") return `expected a number, got ${JSON.stringify(value)}`;
    }
    return undefined;
}

/**
 * Rules the models state only in a member's documentation. Each quotes the sentence it encodes;
 * the validator fails when the documentation no longer says it (the rule must then be redone).
 */
export const DOCUMENTED: Record<string, { says: string[]; check: (v: any, documentation: string) => string | undefined }> = {
    "elasticache:CreateReplicationGroup.ReplicationGroupId": {
        says: [
            "stored as a lowercase string",
            "A name must contain from 1 to 40 alphanumeric characters or hyphens. The first character must be a letter. A name cannot end with a hyphen or contain two consecutive hyphens.",
        ],
        // Stored lower-cased: an upper-case id would differ from the CacheClusterId dimension of its own alarms.
        check: (v) =>
            /^[a-z][a-z0-9-]{0,39}$/.test(v) && !/--|-$/.test(v)
                ? undefined
                : "1 to 40 lowercase letters, digits or hyphens, starting with a letter, no -- and no trailing -",
    },
    "elasticache:CreateCacheSubnetGroup.CacheSubnetGroupName": {
        says: ["stored as a lowercase string", "Must contain no more than 255 alphanumeric characters or hyphens."],
        check: (v) => (/^[a-z0-9-]{1,255}$/.test(v) ? undefined : "up to 255 lowercase letters, digits or hyphens"),
    },
    "elasticache:CreateReplicationGroup.AuthToken": {
        says: [
            "Must be at least 16 characters and no more than 128 characters in length.",
            "The only permitted printable special characters are !, &, #, $, ^, <, >, and -.",
        ],
        check: (v) => (/^[A-Za-z0-9!&#$^<>-]{16,128}$/.test(v) ? undefined : "16 to 128 letters, digits and ! & # $ ^ < > -"),
    },
    "elasticache:CreateReplicationGroup.PreferredMaintenanceWindow": {
        says: ["format ddd:hh24:mi-ddd:hh24:mi", "The minimum maintenance window is a 60 minute period."],
        check: (v) =>
            /^(sun|mon|tue|wed|thu|fri|sat):([01]\d|2[0-3]):[0-5]\d-(sun|mon|tue|wed|thu|fri|sat):([01]\d|2[0-3]):[0-5]\d$/.test(v)
                ? undefined
                : "ddd:hh24:mi-ddd:hh24:mi",
    },
    "memorydb:CreateCluster.MaintenanceWindow": {
        says: ["format ddd:hh24:mi-ddd:hh24:mi", "The minimum maintenance window is a 60 minute period."],
        check: (v) =>
            /^(sun|mon|tue|wed|thu|fri|sat):([01]\d|2[0-3]):[0-5]\d-(sun|mon|tue|wed|thu|fri|sat):([01]\d|2[0-3]):[0-5]\d$/.test(v)
                ? undefined
                : "ddd:hh24:mi-ddd:hh24:mi",
    },
    "ec2:CreateSecurityGroup.Description": {
        says: ["Up to 255 characters in length", "Constraints for EC2-VPC: a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*"],
        check: (v) =>
            /^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]{0,255}$/.test(v)
                ? undefined
                : "up to 255 of a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$*",
    },
    "ec2:#IpRange.Description": {
        says: ["Up to 255 characters in length. Allowed characters are a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*"],
        check: (v) =>
            /^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]{0,255}$/.test(v)
                ? undefined
                : "up to 255 of a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$*",
    },
    "ec2:#Tag.Key": {
        says: ["accept a maximum of 127 Unicode characters. May not begin with aws:"],
        check: (v) =>
            v.length >= 1 && v.length <= 127 && !v.startsWith("aws:") ? undefined : "1 to 127 characters, not starting with aws:",
    },
    "ec2:#Tag.Value": {
        says: ["accept a maximum of 256 Unicode characters."],
        check: (v) => (v.length <= 256 ? undefined : "at most 256 characters"),
    },
    "secretsmanager:CreateSecret.Name": {
        says: [
            "The secret name can contain ASCII letters, numbers, and the following characters: /_+=.@-",
            "Do not end your secret name with a hyphen followed by six characters.",
        ],
        check: (v) =>
            /^[A-Za-z0-9/_+=.@-]+$/.test(v) && !/-[^-]{6}$/.test(v)
                ? undefined
                : "ASCII letters, digits and /_+=.@-, not ending in a hyphen and six characters",
    },
    "cloudwatch:PutMetricAlarm.TreatMissingData": {
        says: ["Valid Values: breaching | notBreaching | ignore | missing"],
        check: (v) =>
            ["breaching", "notBreaching", "ignore", "missing"].includes(v) ? undefined : "breaching | notBreaching | ignore | missing",
    },
    "logs:PutRetentionPolicy.retentionInDays": {
        says: ["Possible values are:"],
        check: (v, d) => {
            const allowed = d.split("Possible values are:")[1]!.split(".")[0]!.match(/\d+/g)!.map(Number);
            return allowed.includes(v) ? undefined : `one of ${allowed.join(", ")}`;
        },
    },
    "sns:CreateTopic.Name": {
        says: [
            "Topic names must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.",
        ],
        check: (v) => (/^[A-Za-z0-9_-]{1,256}$/.test(v) ? undefined : "1 to 256 ASCII letters, digits, _ and -"),
    },
    "ec2:CreateSecurityGroup.GroupName": {
        says: [
            "Up to 255 characters in length. Cannot start with sg- .",
            "Constraints for EC2-VPC: a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*",
        ],
        check: (v) =>
            /^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]{1,255}$/.test(v) && !v.startsWith("sg-")
                ? undefined
                : "up to 255 of a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$*, not starting with sg-",
    },
    "sns:Subscribe.Protocol": {
        says: ["email"],
        check: (v) =>
            ["http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose"].includes(v)
                ? undefined
                : "one of SNS's protocols",
    },
};

/**
 * The provider's own validators, where AWS's model says nothing but the provider refuses at
 * preview: terraform-provider-aws internal/service/memorydb/validate.go @ 0413c661ec1b94f3033c98f3fbd1e8c1b2725589
 * (lowercase letters, digits and hyphens, no "--", no trailing "-"; 40 characters for cluster,
 * user and ACL names, 255 for parameter groups, subnet groups and snapshots).
 */
const memorydbName = (max: number) => (v: string) =>
    v.length >= 1 && v.length <= max && /^[0-9a-z-]+$/.test(v) && !/--|-$/.test(v)
        ? undefined
        : `1 to ${max} lowercase letters, digits and hyphens, no -- and no trailing - (the provider's validateResourceName)`;
export const PROVIDER_RULES: Record<string, (v: string) => string | undefined> = {
    "memorydb:CreateCluster.ClusterName": memorydbName(40),
    "memorydb:CreateUser.UserName": memorydbName(40),
    "memorydb:CreateACL.ACLName": memorydbName(40),
    "memorydb:CreateCluster.ACLName": memorydbName(40),
    "memorydb:CreateParameterGroup.ParameterGroupName": memorydbName(255),
    "memorydb:CreateSubnetGroup.SubnetGroupName": memorydbName(255),
    "memorydb:DeleteCluster.FinalSnapshotName": memorydbName(255),
    // internal/service/ec2/ec2_instance.go @ 0015dfcd06d5d78e5e1c3cabe8cea837d379d1c7: user_data
    // ValidateFunc StringLenBetween(0, 16384) (EC2 takes 16 KB of user data, before base64;
    // userDataBase64 is checked on its decoded bytes).
    "ec2:RunInstances.UserData": (v) =>
        v.length <= 16384 ? undefined : `at most 16384 bytes (EC2's user data limit); this document has ${v.length}`,
};

export interface Violation {
    resource: string;
    input: string;
    api: string;
    value: unknown;
    problem: string;
}

/** Checks one value against its member: the model's own constraints, then its documented ones. */
export function checkValue(api: string, value: unknown, roots = modelRoots()): string | undefined {
    const m = resolveMember(api, roots);
    const fromModel = modelViolation(m, value);
    if (fromModel) return fromModel;
    const doc = DOCUMENTED[api];
    if (doc) {
        for (const s of doc.says) {
            if (!m.documentation.includes(s)) return `the model's documentation of ${api} no longer says "${s}": redo this rule`;
        }
        const fromDoc = doc.check(value, m.documentation);
        if (fromDoc) return fromDoc;
    }
    const provider = PROVIDER_RULES[api];
    if (provider && typeof value === "string") return provider(value);
    return undefined;
}
