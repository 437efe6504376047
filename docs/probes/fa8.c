#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
static long rss(void *a){char b[1<<16];FILE*f=fopen("/proc/self/smaps","r");size_t n=fread(b,1,sizeof b-1,f);b[n]=0;fclose(f);
 char k[32];snprintf(k,32,"%lx-",(unsigned long)a);char*p=strstr(b,k);if(!p)return -1;return strtol(strstr(p,"Rss:")+4,0,10);}
int main(int argc,char**argv){
 const char*path=argv[1]; long len=atol(argv[2]); int table=atoi(argv[3]); long touch=atol(argv[4]); int sparse=atoi(argv[5]); long fsize=256*1024;
 int fd=open(path,O_RDWR|O_CREAT|O_TRUNC,0600);
 static char buf[256*1024]; for(int i=0;i<fsize;i++)buf[i]=i*131;
 if(sparse) ftruncate(fd,fsize); else { for(long o=0;o<fsize;o+=4096) pwrite(fd,buf+o,4096,o); fsync(fd);} posix_fadvise(fd,0,0,POSIX_FADV_DONTNEED);
 close(fd);
 if(table){ char*x=mmap((void*)0x10100000,4096,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED,-1,0); x[0]=1; }
 fd=open(path,O_RDONLY|O_CLOEXEC);
 char*a=mmap((void*)0x10000000,len,PROT_READ,MAP_PRIVATE|MAP_FIXED,fd,0);
 if(argc>6) madvise(a,len,atoi(argv[6])); unsigned char v[64]; mincore(a,len,v); int c0=0; for(int i=0;i<len/4096;i++) c0+=v[i]&1;
 volatile char c=a[touch]; (void)c;
 mincore(a,len,v); int c1=0; for(int i=0;i<len/4096;i++) c1+=v[i]&1;
 printf("len=%ld table=%d touch=%ld sparse=%d cached %d->%d rss=%ld\n",len,table,touch,sparse,c0,c1,rss(a));
 return 0;}
