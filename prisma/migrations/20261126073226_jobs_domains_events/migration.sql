-- CreateEnum
CREATE TYPE "JobRunStatus" AS ENUM ('RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED', 'MISSED');

-- CreateEnum
CREATE TYPE "JobTrigger" AS ENUM ('MANUAL', 'SCHEDULE');

-- CreateEnum
CREATE TYPE "CertificateStatus" AS ENUM ('NONE', 'PENDING', 'ISSUED', 'FAILED');

-- AlterTable
ALTER TABLE "CustomDomain" ADD COLUMN     "certificateAttempts" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "certificateError" TEXT,
ADD COLUMN     "certificateExpiresAt" TIMESTAMP(3),
ADD COLUMN     "certificateIssuedAt" TIMESTAMP(3),
ADD COLUMN     "certificatePem" TEXT,
ADD COLUMN     "certificateStatus" "CertificateStatus" NOT NULL DEFAULT 'NONE',
ADD COLUMN     "lastCheckMessage" TEXT,
ADD COLUMN     "lastCheckStatus" TEXT,
ADD COLUMN     "lastCheckedAt" TIMESTAMP(3),
ADD COLUMN     "nextAttemptAt" TIMESTAMP(3),
ADD COLUMN     "observedTxt" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "privateKeySealed" TEXT;

-- AlterTable
ALTER TABLE "Service" ADD COLUMN     "presetId" TEXT,
ADD COLUMN     "presetOutputs" JSONB;

-- CreateTable
CREATE TABLE "AcmeAccount" (
    "id" TEXT NOT NULL,
    "directoryUrl" TEXT NOT NULL,
    "accountKeySealed" TEXT NOT NULL,
    "accountUrl" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AcmeAccount_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DeployRunEvent" (
    "id" SERIAL NOT NULL,
    "deployRunId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "payload" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "DeployRunEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Job" (
    "id" TEXT NOT NULL,
    "serviceId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "command" TEXT NOT NULL,
    "timeoutSeconds" INTEGER,
    "schedule" TEXT,
    "allowOverlap" BOOLEAN NOT NULL DEFAULT false,
    "nextRunAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Job_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "JobRun" (
    "id" TEXT NOT NULL,
    "jobId" TEXT NOT NULL,
    "status" "JobRunStatus" NOT NULL DEFAULT 'RUNNING',
    "trigger" "JobTrigger" NOT NULL DEFAULT 'MANUAL',
    "triggeredBy" TEXT NOT NULL,
    "scheduledFor" TIMESTAMP(3),
    "execId" TEXT,
    "exitCode" INTEGER,
    "output" TEXT NOT NULL DEFAULT '',
    "outputTruncated" BOOLEAN NOT NULL DEFAULT false,
    "error" TEXT,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "JobRun_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "AcmeAccount_directoryUrl_key" ON "AcmeAccount"("directoryUrl");

-- CreateIndex
CREATE UNIQUE INDEX "DeployRunEvent_deployRunId_seq_key" ON "DeployRunEvent"("deployRunId", "seq");

-- CreateIndex
CREATE UNIQUE INDEX "Job_serviceId_name_key" ON "Job"("serviceId", "name");

-- CreateIndex
CREATE INDEX "JobRun_jobId_startedAt_idx" ON "JobRun"("jobId", "startedAt");

-- CreateIndex
CREATE UNIQUE INDEX "JobRun_jobId_scheduledFor_key" ON "JobRun"("jobId", "scheduledFor");

-- AddForeignKey
ALTER TABLE "DeployRunEvent" ADD CONSTRAINT "DeployRunEvent_deployRunId_fkey" FOREIGN KEY ("deployRunId") REFERENCES "DeployRun"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Job" ADD CONSTRAINT "Job_serviceId_fkey" FOREIGN KEY ("serviceId") REFERENCES "Service"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "JobRun" ADD CONSTRAINT "JobRun_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "Job"("id") ON DELETE CASCADE ON UPDATE CASCADE;
