#!/usr/bin/env node
/** The CDK app: reads context once and builds the stacks. */
import { App, Stack } from 'aws-cdk-lib';
import { TokenData } from '../lib/data';

const app = new App();
const stack = new Stack(app, 'TollgateData', { terminationProtection: true });
new TokenData(stack, 'Data');
app.synth();
