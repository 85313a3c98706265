-- CreateEnum
CREATE TYPE "DeployRunStatus" AS ENUM ('PENDING', 'PULLING', 'RUNNING_HOOK', 'SWAPPING', 'SUCCEEDED', 'FAILED', 'CANCELLED');

-- CreateEnum
CREATE TYPE "DeployRunKind" AS ENUM ('DEPLOY', 'START', 'ROLLBACK');

-- AlterTable
ALTER TABLE "Service" ADD COLUMN     "activeRunId" TEXT,
ADD COLUMN     "containerId" TEXT,
ADD COLUMN     "lastExitCode" INTEGER;

-- CreateTable
CREATE TABLE "DeployRun" (
    "id" TEXT NOT NULL,
    "serviceId" TEXT NOT NULL,
    "kind" "DeployRunKind" NOT NULL,
    "status" "DeployRunStatus" NOT NULL DEFAULT 'PENDING',
    "triggeredBy" TEXT NOT NULL,
    "image" TEXT NOT NULL,
    "imageDigest" TEXT,
    "imageId" TEXT,
    "imageChanged" BOOLEAN,
    "configSnapshot" JSONB NOT NULL,
    "rollbackOfId" TEXT,
    "hookExitCode" INTEGER,
    "hookOutput" TEXT,
    "hookTimedOut" BOOLEAN NOT NULL DEFAULT false,
    "error" TEXT,
    "errorCode" TEXT,
    "steps" JSONB NOT NULL DEFAULT '[]',
    "containerId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "DeployRun_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ServiceTransition" (
    "id" TEXT NOT NULL,
    "serviceId" TEXT NOT NULL,
    "from" "ServiceStatus" NOT NULL,
    "to" "ServiceStatus" NOT NULL,
    "reason" TEXT NOT NULL,
    "deployRunId" TEXT,
    "exitCode" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ServiceTransition_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "DeployRun_serviceId_createdAt_idx" ON "DeployRun"("serviceId", "createdAt");

-- CreateIndex
CREATE INDEX "ServiceTransition_serviceId_createdAt_idx" ON "ServiceTransition"("serviceId", "createdAt");

-- AddForeignKey
ALTER TABLE "DeployRun" ADD CONSTRAINT "DeployRun_serviceId_fkey" FOREIGN KEY ("serviceId") REFERENCES "Service"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ServiceTransition" ADD CONSTRAINT "ServiceTransition_serviceId_fkey" FOREIGN KEY ("serviceId") REFERENCES "Service"("id") ON DELETE CASCADE ON UPDATE CASCADE;
