/** The vm stack's user data and secret, as the program registers them from the real Pulumi.vm.yaml under mocks. */
import { parse } from "yaml";
import { runProgram, secretInput, setupStack, single } from "../helpers/pulumiMocks";
import { decodeUserData } from "../../src/targets/vm/cloudInit";

export interface RenderedVm {
    userData: string;
    /** The secret's name (what Secrets Manager is asked to create) and the ARN the mocks gave it. */
    secretName: string;
    mockSecretArn: string;
    secret: { username: string; password: string; tlsCert?: string; tlsKey?: string; tlsCa?: string };
    volumeId: string;
    region: string;
    packages: string[];
    redisConf: string;
}

export async function renderVmStack(): Promise<RenderedVm> {
    const resources = await setupStack("vm");
    await runProgram(resources, () => import("../../src/index"));
    const userData = decodeUserData(secretInput<string>(single(resources, "aws:ec2/instance:Instance").inputs.userDataBase64));
    const doc = parse(userData) as { packages: string[]; write_files: { path: string; content: string }[] };
    const file = (p: string) => doc.write_files.find((f) => f.path === p)!.content;
    const env = Object.fromEntries(
        file("/etc/mspbyte/redis-vm.env")
            .split("\n")
            .filter((l) => l.includes("="))
            .map((l) => l.split(/=(.*)/s).slice(0, 2)),
    );
    const secretInputs = single(resources, "aws:secretsmanager/secret:Secret").inputs;
    // namePrefix: AWS appends a suffix of its own (moto too).
    const secretName = (secretInputs.name ?? `${secretInputs.namePrefix}boot-test`) as string;
    return {
        userData,
        secretName,
        mockSecretArn: env.MSPBYTE_SECRET_ID!,
        secret: JSON.parse(secretInput<string>(single(resources, "aws:secretsmanager/secretVersion:SecretVersion").inputs.secretString)),
        volumeId: env.MSPBYTE_VOLUME_ID!,
        region: env.MSPBYTE_REGION!,
        packages: doc.packages,
        redisConf: file("/etc/redis/redis.conf"),
    };
}
