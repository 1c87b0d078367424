/* The bare-disk peer two ways, side by side: a growing file (as ../shared/bench/peer_raw.c)
 * and a file zeroed and fsync'd beforehand, overwritten in place. Each batch one pwrite + fdatasync.
 *   cc -O2 -o peer_raw_prezeroed bench/peer_raw_prezeroed.c && ./peer_raw_prezeroed DIR 1000000 124 1000 3 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
static double run(const char*path,long events,long rec,long batch,int prezero){
  size_t chunk=(size_t)rec*batch; char*buf=malloc(chunk); memset(buf,'r',chunk);
  int fd=open(path,O_CREAT|O_TRUNC|O_RDWR,0600); if(fd<0){perror("open");exit(1);}
  size_t total=(size_t)events*rec;
  if(prezero){ char*z=calloc(1,1<<20); for(size_t d=0;d<total;d+=1<<20) pwrite(fd,z,(total-d<(1<<20)?total-d:(1<<20)),d); fsync(fd); free(z);}
  double t0=now(); off_t off=0;
  for(long i=0;i<events;i+=batch){ size_t n=(size_t)(events-i<batch?events-i:batch)*rec; pwrite(fd,buf,n,off); off+=n; fdatasync(fd);}
  double s=now()-t0; close(fd); unlink(path); free(buf); return events/s;
}
int main(int c,char**v){ char p[4096]; snprintf(p,sizeof p,"%s/rawz",v[1]); long e=atol(v[2]),r=atol(v[3]),b=atol(v[4]);
  for(int k=0;k<atoi(v[5]);k++){ double g=run(p,e,r,b,0), z=run(p,e,r,b,1); printf("growing %.0f/s prezeroed %.0f/s ratio %.2f\n",g,z,z/g);} }
