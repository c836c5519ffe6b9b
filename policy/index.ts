/** `pulumi preview --policy-pack policy`: the queue's contract as a mandatory policy pack. */
import { PolicyPack } from "@pulumi/policy";
import { policies, stackPolicies } from "./policies";

new PolicyPack("mspbyte-redis", { policies: [...policies, ...stackPolicies] });
